# k4run options: the calorimeter chain on ML fast-simulated showers.
# gun -> FastCaloSim (shipped VAE for e+-/gamma in the EM barrel and endcaps; the parametrised simulation for the
#     rest, e.g. the pions) -> C++ CaloDigitizer -> clustering -> truth links -> Pre-ML -> MLInference (PID)
#     -> Post-ML ReconstructedParticles + ParticleIDs
#
#   k4run options/fastsim.py -n 1000
#   k4run options/fastsim.py -n 1000 --FastSim.ModelPath=par04.onnx --FastSim.SidecarPath=par04.json
#   k4run options/fastsim.py -n 1000 --FastSim.BatchSize=1      # one event per model call
from pathlib import Path

from Configurables import (
    CaloClusterTruthLinker,
    CaloDigitizer,
    CaloPIDFeatures,
    CaloPIDToParticleID,
    EventDataSvc,
    EventHeaderCreator,
    FastCaloSim,
    MLInference,
    ParticleGun,
    SimpleCaloClustering,
)
from Gaudi.Configuration import INFO
from k4FWCore import ApplicationMgr, IOSvc

import k4mlinference

MODELS = Path(k4mlinference.__file__).parent / "models"

iosvc = IOSvc("IOSvc")
iosvc.Output = "fastsim.root"

header = EventHeaderCreator("EventHeader", runNumber=3)
gun = ParticleGun("Gun", PDG=[11, 22, -211], EnergyMin=2.0, EnergyMax=50.0, ThetaMin=15.0, ThetaMax=165.0, Seed=201)
fastsim = FastCaloSim(
    "FastSim",
    ModelPath=str(MODELS / "fastsim_toy_calo.onnx"),  # its sidecar fastsim_toy_calo.json says how to run it
    Geometry="toy_calo",
    PDG=[11, -11, 22],
    EnergyMin=1.0,
    EnergyMax=100.0,
    Sections=["ECalBarrel", "ECalEndcap"],
    FullSimUntriggered=True,
    BatchSize=64,  # all triggered particles of 64 events in one model call
    Seed=202,
)
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
    ModelPath=str(MODELS / "calo_pid.onnx"),
    InputCollections=["CaloPIDFeatures"],
    OutputCollections=["CaloPIDProbabilities"],
    BatchSize=256,
)
post = CaloPIDToParticleID("PIDPost", InputProbabilities="CaloPIDProbabilities", ClassPDG=[211, 11])

ApplicationMgr(
    TopAlg=[header, gun, fastsim, digi, clusters, truth, features, inference, post],
    EvtSel="NONE",
    EvtMax=200,
    ExtSvc=[EventDataSvc("EventDataSvc")],
    OutputLevel=INFO,
)
