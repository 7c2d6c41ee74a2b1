"""Particle gun, event header and a simple event filter."""

from __future__ import annotations

import numpy as np

from k4mlinference.edm.fill import new_collection
from k4mlinference.framework import FilterPredicate, Input, Output, Producer, Property
from k4mlinference.framework.seeding import event_rng

# PDG -> (mass [GeV], charge [e])
PARTICLES = {
    11: (0.000511, -1.0),
    13: (0.105658, -1.0),
    22: (0.0, 0.0),
    111: (0.134977, 0.0),
    130: (0.497611, 0.0),
    211: (0.139570, 1.0),
    321: (0.493677, 1.0),
    2112: (0.939565, 0.0),
    2212: (0.938272, 1.0),
}


def mass_charge(pdg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mass = np.zeros(len(pdg))
    charge = np.zeros(len(pdg))
    for code, (m, q) in PARTICLES.items():
        for sign in (1, -1):
            sel = pdg == sign * code
            mass[sel] = m
            charge[sel] = sign * q if code not in (22, 111, 130, 2112) else 0.0
    return mass, charge


class ParticleGun(Producer):
    """Particle gun: ParticlesPerEvent particles per event with PDG codes drawn from PDG, energy uniform in
    [EnergyMin, EnergyMax] GeV and directions uniform in theta/phi ranges (degrees), from the origin.
    Seeded per event from (Seed, event number)."""

    OutputCollection = Output("MCParticles", type="edm4hep::MCParticleCollection", doc="generated particles")
    PDG = Property([11], doc="PDG codes to draw from (uniformly)")
    EnergyMin = Property(1.0, doc="minimum energy [GeV]")
    EnergyMax = Property(10.0, doc="maximum energy [GeV]")
    ThetaMin = Property(45.0, doc="minimum polar angle [deg]")
    ThetaMax = Property(135.0, doc="maximum polar angle [deg]")
    PhiMin = Property(0.0, doc="minimum azimuth [deg]")
    PhiMax = Property(360.0, doc="maximum azimuth [deg]")
    ParticlesPerEvent = Property(1, doc="particles per event", minimum=0)
    Seed = Property(42, doc="random seed (combined with the event number)")

    def initialize(self) -> None:
        if not self.PDG:
            raise ValueError("PDG is empty")
        if self.EnergyMax < self.EnergyMin:
            raise ValueError(f"EnergyMax ({self.EnergyMax}) < EnergyMin ({self.EnergyMin})")

    def __call__(self):
        rng = event_rng(self.Seed, self.event_number)
        n = int(self.ParticlesPerEvent)
        pdg = rng.choice(np.asarray(self.PDG, dtype=np.int32), size=n)
        energy = rng.uniform(self.EnergyMin, self.EnergyMax, n)
        cos_t = rng.uniform(np.cos(np.radians(self.ThetaMax)), np.cos(np.radians(self.ThetaMin)), n)
        phi = np.radians(rng.uniform(self.PhiMin, self.PhiMax, n))
        mass, charge = mass_charge(pdg)
        p = np.sqrt(np.clip(energy**2 - mass**2, 0.0, None))
        sin_t = np.sqrt(1.0 - cos_t**2)
        coll, d = new_collection("edm4hep::MCParticleCollection", n)
        d["PDG"] = pdg
        d["generatorStatus"] = 1
        d["charge"] = charge
        d["mass"] = mass
        d["momentum"]["x"] = p * sin_t * np.cos(phi)
        d["momentum"]["y"] = p * sin_t * np.sin(phi)
        d["momentum"]["z"] = p * cos_t
        return coll


class EventHeaderCreator(Producer):
    """Creates the EventHeader collection (one entry: eventNumber = event number + eventNumberOffset, runNumber)."""

    OutputCollection = Output("EventHeader", type="edm4hep::EventHeaderCollection", doc="event header")
    runNumber = Property(0, doc="run number written into every header")
    eventNumberOffset = Property(0, doc="added to the event number")

    def __call__(self):
        coll, d = new_collection("edm4hep::EventHeaderCollection", 1)
        d["eventNumber"] = self.event_number + self.eventNumberOffset
        d["runNumber"] = self.runNumber
        d["weight"] = 1.0
        return coll


class EventFilter(FilterPredicate):
    """Keeps events whose summed energy of a calorimeter hit collection is at least MinEnergy [GeV]."""

    InputCollection = Input("CalorimeterHits", type="edm4hep::CalorimeterHitCollection", doc="hits to sum")
    MinEnergy = Property(0.0, doc="minimum summed hit energy [GeV]")

    def __call__(self, hits) -> bool:
        total = float(hits.view("energy").sum()) if len(hits) else 0.0
        return total >= self.MinEnergy
