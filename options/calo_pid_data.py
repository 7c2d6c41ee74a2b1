# k4run options: calorimeter-PID training data (electrons and negative pions, 2-20 GeV).
# gun -> parametrised calorimeter simulation (GFlash EM, hadronic showers) -> C++ CaloDigitizer -> clustering
#     -> truth links from the hit contributions -> Pre-ML features + targets -> HDF5 (+ a podio ROOT file)
#
#   k4run options/calo_pid_data.py -n 2000 --Export.OutputFile=calo_pid_train.h5
#   k4run options/calo_pid_data.py -n 2000 --IOSvc.Output=      (HDF5 only: CaloPIDFeatures and, in EICrecon's
#         CalorimeterParticleIDPreML layout, CaloPIDFeaturesEICrecon; CaloPIDTargets)
from Configurables import (
    CaloClusterTruthLinker,
    CaloDigitizer,
    CaloPIDFeatures,
    EventDataSvc,
    EventHeaderCreator,
    ParticleGun,
    SimpleCaloClustering,
    SimpleCalorimeterSim,
    TrainingExport,
)
from Gaudi.Configuration import INFO
from k4FWCore import ApplicationMgr, IOSvc

iosvc = IOSvc("IOSvc")
iosvc.Output = "calo_pid_data.root"
iosvc.outputCommands = ["drop *", "keep EventHeader", "keep MCParticles", "keep CaloClusters", "keep CaloPID*"]

header = EventHeaderCreator("EventHeader", runNumber=1)
gun = ParticleGun("Gun", PDG=[11, -211], EnergyMin=2.0, EnergyMax=20.0, ParticlesPerEvent=1, Seed=1)
sim = SimpleCalorimeterSim("CaloSim", Geometry="toy_calo", InputCollection="MCParticles", Seed=2)
# sampling fluctuations are simulated; the digitizer adds noise and a threshold (visible energies)
digi = CaloDigitizer(
    "Digitizer",
    InputCollection="SimCalorimeterHits",
    OutputCollection="CalorimeterHits",
    Calibration=1.0,
    Stochastic=0.0,
    Constant=0.0,
    Noise=0.00002,
    Threshold=0.00006,
)
clusters = SimpleCaloClustering("Clustering", Geometry="toy_calo", OutputCollection="CaloClusters")
truth = CaloClusterTruthLinker("TruthLinks", OutputLinks="CaloClusterMCLinks")
features = CaloPIDFeatures("PIDFeatures", FeatureSet="k4ml", OutputFeatures="CaloPIDFeatures")
features_eic = CaloPIDFeatures(  # the same clusters in EICrecon's CalorimeterParticleIDPreML layout
    "PIDFeaturesEICrecon",
    FeatureSet="eicrecon",
    OutputFeatures="CaloPIDFeaturesEICrecon",
    OutputTargets="CaloPIDTargetsEICrecon",
)
export = TrainingExport(
    "Export",
    InputCollections=["CaloPIDFeatures", "CaloPIDFeaturesEICrecon", "CaloPIDTargets"],
    OutputFile="calo_pid_train.h5",
)

ApplicationMgr(
    TopAlg=[header, gun, sim, digi, clusters, truth, features, features_eic, export],
    EvtSel="NONE",
    EvtMax=1000,
    ExtSvc=[EventDataSvc("EventDataSvc")],
    OutputLevel=INFO,
)
