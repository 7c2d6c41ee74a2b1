# k4run options: the calorimeter-PID chain with the shipped model (k4mlinference/models/calo_pid.onnx), batching
# 256 events per model call.
# gun -> parametrised calorimeter simulation -> C++ CaloDigitizer -> clustering -> truth links -> Pre-ML
#     -> MLInference (ONNX, output [n, 2] = (pion, electron)) -> Post-ML ReconstructedParticles + ParticleIDs
#
#   k4run options/calo_pid_inference.py -n 1000
#   k4run options/calo_pid_inference.py -n 1000 --PIDInference.ModelPath=my_model.onnx --PIDInference.BatchSize=1
#   EICrecon-layout model: --PIDFeatures.FeatureSet=eicrecon --PIDInference.ModelPath=.../calo_pid_eicrecon.onnx
from pathlib import Path

from Configurables import (
    CaloClusterTruthLinker,
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

import k4mlinference

MODEL = Path(k4mlinference.__file__).parent / "models" / "calo_pid.onnx"

iosvc = IOSvc("IOSvc")
iosvc.Output = "calo_pid_reco.root"
iosvc.outputCommands = ["keep *", "drop SimCaloHitContributions", "drop SimCalorimeterHits"]

header = EventHeaderCreator("EventHeader", runNumber=2)
gun = ParticleGun("Gun", PDG=[11, -211], EnergyMin=2.0, EnergyMax=20.0, ParticlesPerEvent=1, Seed=101)
sim = SimpleCalorimeterSim("CaloSim", Geometry="toy_calo", InputCollection="MCParticles", Seed=102)
digi = CaloDigitizer(
    "Digitizer",
    InputCollection="SimCalorimeterHits",
    OutputCollection="CalorimeterHits",
    Calibration=1.0,  # sampling fluctuations and the sampling-fraction calibration are in sim and clustering
    Stochastic=0.0,
    Constant=0.0,
    Noise=0.00002,
    Threshold=0.00006,
)
clusters = SimpleCaloClustering("Clustering", Geometry="toy_calo", OutputCollection="CaloClusters")
truth = CaloClusterTruthLinker("TruthLinks", OutputLinks="CaloClusterMCLinks")
features = CaloPIDFeatures("PIDFeatures", FeatureSet="k4ml", OutputFeatures="CaloPIDFeatures")
inference = MLInference(
    "PIDInference",
    ModelPath=str(MODEL),
    InputCollections=["CaloPIDFeatures"],
    OutputCollections=["CaloPIDProbabilities"],
    BatchSize=256,
)
post = CaloPIDToParticleID("PIDPost", InputProbabilities="CaloPIDProbabilities", ClassPDG=[211, 11])

ApplicationMgr(
    TopAlg=[header, gun, sim, digi, clusters, truth, features, inference, post],
    EvtSel="NONE",
    EvtMax=1000,
    ExtSvc=[EventDataSvc("EventDataSvc")],
    OutputLevel=INFO,
)
