# k4run options: make calorimeter-PID training data (electrons and charged pions).
# gun -> toy calorimeter -> C++ CaloDigitizer -> clustering -> Pre-ML features + truth -> HDF5 (+ ROOT file)
#
#   k4run options/calo_pid_data.py -n 2000 --Export.OutputFile=calo_pid_train.h5
from Configurables import (
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
sim = SimpleCalorimeterSim("CaloSim", InputCollection="MCParticles", Seed=2)
digi = CaloDigitizer("Digitizer", InputCollection="SimCalorimeterHits", OutputCollection="CalorimeterHits")
clusters = SimpleCaloClustering("Clustering", InputCollection="CalorimeterHits", OutputCollection="CaloClusters")
features = CaloPIDFeatures("PIDFeatures", OutputFeatures="CaloPIDFeatures", OutputTargets="CaloPIDTargets")
export = TrainingExport(
    "Export", InputCollections=["CaloPIDFeatures", "CaloPIDTargets"], OutputFile="calo_pid_train.h5"
)

ApplicationMgr(
    TopAlg=[header, gun, sim, digi, clusters, features, export],
    EvtSel="NONE",
    EvtMax=1000,
    ExtSvc=[EventDataSvc("EventDataSvc")],
    OutputLevel=INFO,
)
