"""ML fast shower simulation (DDFastShowerML / Geant4 Par04 style): Trigger, Model, Inference, Geometry."""

from k4mlinference.algorithms.fastsim.algorithm import FastCaloSim
from k4mlinference.algorithms.fastsim.model import FastSimSidecarError, FastSimSpec, Mesh, load_fastsim_sidecar
from k4mlinference.algorithms.fastsim.trigger import Trigger

__all__ = ["FastCaloSim", "FastSimSidecarError", "FastSimSpec", "Mesh", "Trigger", "load_fastsim_sidecar"]
