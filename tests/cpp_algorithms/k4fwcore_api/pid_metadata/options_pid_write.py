# ParticleID metadata from C++ algorithms: candidates, two PID algorithms putting their ParticleIDMeta,
# and a check reading it back in the same run; written to pid_metadata.root.
from Configurables import CheckCandidatePIDs, EventDataSvc, MakeCandidates, TagCandidates
from Gaudi.Configuration import INFO
from k4FWCore import ApplicationMgr, IOSvc, putMetadata

iosvc = IOSvc("IOSvc")
iosvc.Output = "pid_metadata.root"
putMetadata({"RunLabel": "pid-test"})

cands = MakeCandidates("Cands", Candidates=["Candidates"], Count=3)
tag1 = TagCandidates(
    "Tag1",
    InputCollection=["Candidates"],
    ParticleIDCollection=["CandidatePIDs_1"],
    AlgoName="dEdx",
    ParamNames=["chi2"],
)
tag2 = TagCandidates(
    "Tag2",
    InputCollection=["Candidates"],
    ParticleIDCollection=["CandidatePIDs_2"],
    AlgoName="RICH",
    ParamNames=["pion", "kaon", "proton"],
)
check = CheckCandidatePIDs(
    "Check", PIDs1=tag1.ParticleIDCollection, PIDs2=tag2.ParticleIDCollection, Candidates=["Candidates"]
)

ApplicationMgr(
    TopAlg=[cands, tag1, tag2, check], EvtSel="NONE", EvtMax=3, ExtSvc=[EventDataSvc("EventDataSvc")], OutputLevel=INFO
)
