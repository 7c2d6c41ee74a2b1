"""Event generation, parametrised calorimeter simulation and reconstruction for demos, training and tests.

All random numbers are seeded from (Seed, event number), so a run split over processes gives the
same events as a serial run.
"""

from k4mlinference.algorithms.sim.calo import CaloClusterTruthLinker, SimpleCaloClustering, SimpleCalorimeterSim
from k4mlinference.algorithms.sim.generators import EventFilter, EventHeaderCreator, ParticleGun
from k4mlinference.algorithms.sim.hits import deposits_to_hits

__all__ = [
    "CaloClusterTruthLinker",
    "EventFilter",
    "EventHeaderCreator",
    "ParticleGun",
    "SimpleCaloClustering",
    "SimpleCalorimeterSim",
    "deposits_to_hits",
]
