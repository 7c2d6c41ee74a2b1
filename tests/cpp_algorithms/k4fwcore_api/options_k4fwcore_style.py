# k4FWCore-style options for the test algorithms in this folder: IOSvc's lowercase `output`, a Writer in
# TopAlg, single collections given as one-element lists, runtime-length inputs and outputs by name.
from Configurables import CountByName, EventDataSvc, KeepEveryNth, NegateEach, SeedParticles, StampEvent, Writer
from Gaudi.Configuration import INFO
from k4FWCore import ApplicationMgr, IOSvc

iosvc = IOSvc("IOSvc")
iosvc.output = "k4fwcore_style.root"

pions = SeedParticles("Pions", OutputCollection=["Pions"], PDG=211, Count=2)
kaons = SeedParticles("Kaons", OutputCollection="Kaons", PDG=321, Count=3)
keep = KeepEveryNth("Keep", InputCollection=["Pions"], Every=2)
stamp_pions = StampEvent("StampPions", InputCollection=["Pions"], OutputCollection=["StampedPions"])
stamp_kaons = StampEvent("StampKaons", InputCollection="Kaons", OutputCollection="StampedKaons")
negate = NegateEach(
    "Negate",
    InputCollections=["StampedKaons", "StampedPions"],
    OutputCollections=["AntiKaons", "AntiPions"],
)
count = CountByName("Count", InputCollections=["AntiKaons", "AntiPions"])

ApplicationMgr(
    TopAlg=[pions, kaons, keep, stamp_pions, stamp_kaons, negate, count, Writer("Writer")],
    EvtSel="NONE",
    EvtMax=4,
    ExtSvc=[EventDataSvc("EventDataSvc")],
    OutputLevel=INFO,
)
