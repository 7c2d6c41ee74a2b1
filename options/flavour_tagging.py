# k4run options: jet flavour tagging, generator to tagged jets.
# Pythia 8 (Z -> qq at 91.2 GeV) -> parametrised detector -> primary/secondary vertices -> Durham jets
# -> true flavour (JetMCTagger) -> JetTagger (ParticleNet-like ONNX + weaver JSON) -> flavour_tagging.root
#
#   k4run options/flavour_tagging.py -n 100
#   k4run options/flavour_tagging.py -n 1000 --ncpus 2 --Generator.Card=ZH240
#   k4run options/flavour_tagging.py --JetTagger.model_path=my.onnx --JetTagger.json_path=my_preprocess.json
from Configurables import (
    EventDataSvc,
    EventHeaderCreator,
    FlavourDetectorResponse,
    JetClustering,
    JetMCTagger,
    JetTagger,
    PythiaGenerator,
    VertexFinder,
)
from Gaudi.Configuration import INFO
from k4FWCore import ApplicationMgr, IOSvc

iosvc = IOSvc("IOSvc")
iosvc.Output = "flavour_tagging.root"

header = EventHeaderCreator("EventHeader", runNumber=10)
generator = PythiaGenerator("Generator", Card="Zqq91", Seed=4711)
detector = FlavourDetectorResponse("Detector", InputParticles="MCParticles", Bz=2.0, Seed=97)
vertexing = VertexFinder("Vertexing", InputParticles="ReconstructedParticles", InputTracks="Tracks")
jets = JetClustering("JetClustering", InputParticles="ReconstructedParticles", OutputJets="Jets",
                     Algorithm="ee_kt", NJets=2)  # fmt: skip
truth = JetMCTagger("JetMCTagger", InputJets="Jets", OutputTags="MCJetTags")

# configured as k4MLJetTagger's JetTagger; the defaults of model_path/json_path are the shipped model
flavor_collection_names = ["RefinedJetTag_B", "RefinedJetTag_C", "RefinedJetTag_Q"]
tagger = JetTagger(
    "JetTagger",
    flavor_collection_names=flavor_collection_names,
    InputJets=["Jets"],
    InputPrimaryVertices=["PrimaryVertices"],
    OutputIDCollections=flavor_collection_names,
)

ApplicationMgr(
    TopAlg=[header, generator, detector, vertexing, jets, truth, tagger],
    EvtSel="NONE",
    EvtMax=100,
    ExtSvc=[EventDataSvc("EventDataSvc")],
    OutputLevel=INFO,
)
