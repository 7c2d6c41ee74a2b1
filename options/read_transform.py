# k4run options: read a podio file (e.g. written by gun_digitize.py), re-digitize with other settings,
# recluster, keep only events with enough energy, write a slimmed file.
#
#   k4run options/gun_digitize.py -n 20          # makes gun_digitize.root
#   k4run options/read_transform.py --input-file gun_digitize.root --Redigi.Calibration 9.5
from Configurables import CaloDigitizer, EventDataSvc, EventFilter, SimpleCaloClustering
from Gaudi.Configuration import INFO
from k4FWCore import ApplicationMgr, IOSvc
from k4FWCore.parseArgs import parser

parser.add_argument("--input-file", default="gun_digitize.root", help="file to read")
parser.add_argument("--min-energy", type=float, default=0.0, help="minimum summed hit energy [GeV]")
args = parser.parse_known_args()[0]

iosvc = IOSvc("IOSvc")
iosvc.Input = args.input_file
iosvc.Output = "read_transform.root"
iosvc.CollectionNames = ["EventHeader", "MCParticles", "SimCalorimeterHits", "SimCaloHitContributions"]
# last match wins: drop everything, keep the header, particles and whatever this job makes
iosvc.outputCommands = [
    "drop *",
    "keep EventHeader",
    "keep MCParticles",
    "keep type edm4hep::ClusterCollection",
    "keep Redigi*",
]

redigi = CaloDigitizer(
    "Redigi",
    InputCollection="SimCalorimeterHits",
    OutputCollection="RedigiHits",
    Calibration=10.0,
    Stochastic=0.2,
    Threshold=0.002,
    Seed=99,
)
select = EventFilter("EnergyFilter", InputCollection="RedigiHits", MinEnergy=args.min_energy)
clusters = SimpleCaloClustering("Reclustering", InputCollection="RedigiHits", OutputCollection="RedigiClusters")

ApplicationMgr(
    TopAlg=[redigi, select, clusters], EvtSel="NONE", EvtMax=-1, ExtSvc=[EventDataSvc("EventDataSvc")], OutputLevel=INFO
)
