# k4run options for the start-up benchmark with a C++ algorithm (goal 3 with issue #14's C++ layer): one k4FWCore-style
# C++ Producer, one event, no output file; its library is compiled once, then loaded from the cache.
#   k4run --cpp-source benchmarks/options/EmptyCollectionProducer.cpp benchmarks/options/one_cpp_algorithm.py
from Configurables import EmptyCollectionProducer
from k4FWCore import ApplicationMgr

ApplicationMgr(TopAlg=[EmptyCollectionProducer("Empty")], EvtSel="NONE", EvtMax=1)
