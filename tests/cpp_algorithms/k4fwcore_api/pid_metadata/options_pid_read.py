# Reads pid_metadata.root: the ParticleID metadata come from the input file's metadata frame.
from Configurables import CheckCandidatePIDs, EventDataSvc
from Gaudi.Configuration import INFO
from k4FWCore import ApplicationMgr, IOSvc

iosvc = IOSvc("IOSvc")
iosvc.Input = "pid_metadata.root"

check = CheckCandidatePIDs("Check", PIDs1=["CandidatePIDs_1"], PIDs2=["CandidatePIDs_2"], Candidates=["Candidates"])

ApplicationMgr(TopAlg=[check], EvtSel="NONE", EvtMax=-1, ExtSvc=[EventDataSvc("EventDataSvc")], OutputLevel=INFO)
