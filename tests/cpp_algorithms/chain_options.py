# k4FWCore-style options: C++ algorithms compiled from tests/cpp_algorithms/*.cpp (unchanged k4FWCore
# sources) mixed with a Python algorithm and MLInference in one chain.
#
#   k4run --cpp-source tests/cpp_algorithms tests/cpp_algorithms/chain_options.py --IOSvc.Output=out.root
from pathlib import Path

from Configurables import (
    CheckChain,
    EventDataSvc,
    EveryNth,
    GunProducer,
    MLInference,
    ScoreParticles,
    SelectMany,
    ShiftPDG,
)
from Gaudi.Configuration import INFO
from k4FWCore import ApplicationMgr, IOSvc

from k4mlinference.edm import tensor
from k4mlinference.framework import Input, Output, Transformer


class ParticleFeatures(Transformer):
    """Python step between C++ ones: MCParticle momenta as an [n, 3] float Tensor."""

    InputCollection = Input("GunParticles", type="edm4hep::MCParticleCollection")
    OutputCollection = Output("Features", type="edm4eic::TensorCollection")

    def __call__(self, particles):
        import numpy as np

        mom = particles.view("momentum")
        return tensor.from_array(np.stack([mom["x"], mom["y"], mom["z"]], axis=1).astype(np.float32))


iosvc = IOSvc("IOSvc")
iosvc.Output = "cpp_chain.root"

gun = GunProducer("Gun", PDG=13, Energies=[5.0, 15.0, 25.0], Scale=2.0, Mass=0.105, Label="muons", AddPhoton=True)
features = ParticleFeatures("Features")
model = MLInference(
    "Model",
    ModelPath=str(Path(__file__).with_name("score_model.py")) + ":score",
    Backend="python",
    InputCollections=["Features"],
    OutputCollections=["Scores"],
)
every = EveryNth("Filter", Every=2)
shift = ShiftPDG("Shift", Offset=1000)
score = ScoreParticles("Score", Weight=0.5)
select = SelectMany(
    "Select", InputCollections=["GunParticles", "ShiftedParticles"], OutputCollections=["FastA", "FastB"], MinPz=20.0
)
check = CheckChain("Check", ExpectedOffset=1000)

ApplicationMgr(
    TopAlg=[gun, every, features, model, shift, score, select, check],
    EvtSel="NONE",
    EvtMax=4,
    ExtSvc=[EventDataSvc("EventDataSvc")],
    OutputLevel=INFO,
)
