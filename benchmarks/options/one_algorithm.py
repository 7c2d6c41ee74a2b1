# k4run options for the start-up benchmark (goal 3): one trivial algorithm, one event, no output file.
#   k4run benchmarks/options/one_algorithm.py
from Configurables import EventHeaderCreator
from k4FWCore import ApplicationMgr

ApplicationMgr(TopAlg=[EventHeaderCreator("EventHeader", runNumber=1)], EvtSel="NONE", EvtMax=1)
