# k4run options: the calorimeter-PID chain with the trained model, batching 256 events per model call.
# gun -> toy calorimeter -> C++ CaloDigitizer -> clustering -> Pre-ML -> MLInference (ONNX) -> Post-ML
#
#   k4run options/calo_pid_inference.py -n 1000 --PIDInference.ModelPath=calo_pid.onnx
#   k4run options/calo_pid_inference.py -n 1000 --PIDInference.Backend=onnxruntime --PIDInference.BatchSize=1
from Configurables import (
    CaloDigitizer,
    CaloPIDFeatures,
    CaloPIDToParticleID,
    EventDataSvc,
    EventHeaderCreator,
    MLInference,
    ParticleGun,
    SimpleCaloClustering,
    SimpleCalorimeterSim,
)
from Gaudi.Configuration import INFO
from k4FWCore import ApplicationMgr, IOSvc

iosvc = IOSvc("IOSvc")
iosvc.Output = "calo_pid_reco.root"
iosvc.outputCommands = ["keep *", "drop SimCaloHitContributions", "drop SimCalorimeterHits"]

header = EventHeaderCreator("EventHeader", runNumber=2)
gun = ParticleGun("Gun", PDG=[11, -211], EnergyMin=2.0, EnergyMax=20.0, ParticlesPerEvent=1, Seed=101)
sim = SimpleCalorimeterSim("CaloSim", InputCollection="MCParticles", Seed=102)
digi = CaloDigitizer("Digitizer", InputCollection="SimCalorimeterHits", OutputCollection="CalorimeterHits")
clusters = SimpleCaloClustering("Clustering", InputCollection="CalorimeterHits", OutputCollection="CaloClusters")
features = CaloPIDFeatures("PIDFeatures", OutputFeatures="CaloPIDFeatures", OutputTargets="CaloPIDTargets")
inference = MLInference(
    "PIDInference",
    ModelPath="calo_pid.onnx",
    InputCollections=["CaloPIDFeatures"],
    OutputCollections=["CaloPIDProbabilities"],
    Preprocess=True,  # centre/scale/clip from the model's sidecar calo_pid.json
    BatchSize=256,
)
post = CaloPIDToParticleID("PIDPost", InputProbabilities="CaloPIDProbabilities")

ApplicationMgr(
    TopAlg=[header, gun, sim, digi, clusters, features, inference, post],
    EvtSel="NONE",
    EvtMax=1000,
    ExtSvc=[EventDataSvc("EventDataSvc")],
    OutputLevel=INFO,
)
