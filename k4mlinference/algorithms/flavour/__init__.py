"""Jet flavour tagging the Key4hep way: Pythia 8 events -> parametrised detector -> vertexing -> FastJet jets
-> JetTagger (weaver-trained network, k4MLJetTagger's configuration) -> one ParticleID collection per flavour."""

from k4mlinference.algorithms.flavour.detector import FlavourDetectorResponse
from k4mlinference.algorithms.flavour.generator import PythiaGenerator
from k4mlinference.algorithms.flavour.hepmc import HepMC3Reader
from k4mlinference.algorithms.flavour.jets import JetClustering, JetMCTagger
from k4mlinference.algorithms.flavour.tagger import JetObservablesWriter, JetTagger
from k4mlinference.algorithms.flavour.vertexing import VertexFinder

__all__ = [
    "FlavourDetectorResponse",
    "HepMC3Reader",
    "JetClustering",
    "JetMCTagger",
    "JetObservablesWriter",
    "JetTagger",
    "PythiaGenerator",
    "VertexFinder",
]
