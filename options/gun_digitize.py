# k4run options: particle gun -> parametrised calorimeter simulation -> C++ CaloDigitizer -> Python clustering -> file
#
#   k4run options/gun_digitize.py -n 20
#   k4run options/gun_digitize.py -n 20 --Digitizer.Calibration=12 --IOSvc.Output=other.root
#   k4run options/gun_digitize.py -n 100 --ncpus 2      (or --executor dask)
from Configurables import (
    CaloDigitizer,
    EventDataSvc,
    EventHeaderCreator,
    ParticleGun,
    SimpleCaloClustering,
    SimpleCalorimeterSim,
)
from Gaudi.Configuration import INFO
from k4FWCore import ApplicationMgr, IOSvc

iosvc = IOSvc("IOSvc")
iosvc.Output = "gun_digitize.root"
iosvc.outputCommands = ["keep *"]  # e.g. ["drop *", "keep MCParticles", "keep type edm4hep::ClusterCollection"]

header = EventHeaderCreator("EventHeader", runNumber=1)
gun = ParticleGun("Gun", PDG=[11, 22], EnergyMin=5.0, EnergyMax=20.0, ParticlesPerEvent=2, Seed=42)
sim = SimpleCalorimeterSim("CaloSim", Geometry="toy_calo", InputCollection="MCParticles", Seed=7)
digi = CaloDigitizer(
    "Digitizer",
    InputCollection="SimCalorimeterHits",
    OutputCollection="CalorimeterHits",
    Calibration=10.0,  # 1 / sampling fraction of the EM calorimeter (electrons and photons stay in it)
    Stochastic=0.0,  # sampling fluctuations are simulated
    Threshold=0.001,
)
clusters = SimpleCaloClustering(
    "Clustering",
    InputCollection="CalorimeterHits",
    OutputCollection="CaloClusters",
    Calibrate=False,  # the digitizer calibrated already
    Sections=["ECalBarrel", "ECalEndcap", "HCalBarrel", "HCalEndcap"],
)

# any order works: the data flow decides
ApplicationMgr(
    TopAlg=[header, gun, clusters, digi, sim],
    EvtSel="NONE",
    EvtMax=10,
    ExtSvc=[EventDataSvc("EventDataSvc")],
    OutputLevel=INFO,
)
