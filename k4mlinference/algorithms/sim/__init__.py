"""Toy event generation, calorimeter simulation and reconstruction for demos and tests.

All random numbers are seeded from (Seed, event number), so a run split over processes gives the
same events as a serial run.
"""

from k4mlinference.algorithms.sim.calo import SimpleCaloClustering, SimpleCalorimeterSim
from k4mlinference.algorithms.sim.generators import EventFilter, EventHeaderCreator, ParticleGun

__all__ = ["EventFilter", "EventHeaderCreator", "ParticleGun", "SimpleCaloClustering", "SimpleCalorimeterSim"]
