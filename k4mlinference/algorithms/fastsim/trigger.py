"""Trigger component of the fast simulation: which particles get a generated shower.

As DDFastShowerML's `ApplicableParticles`, `Etrigger` and region settings: a PDG list, a kinetic-energy
window, and the calorimeter sections (barrel / endcaps) whose front face the particle's straight line enters
first. Everything else is left to the parametrised simulation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Trigger:
    pdg: list[int] = field(default_factory=lambda: [11, -11, 22])  # empty: every particle
    energy_min: float = 1.0  # GeV, kinetic
    energy_max: float = 100.0
    sections: list[str] = field(default_factory=lambda: ["ECalBarrel", "ECalEndcap"])  # empty: any section

    def decide(
        self, geometry, pdg: np.ndarray, kinetic: np.ndarray, vertex: np.ndarray, direction: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(triggered mask [n], entry points [n, 3], entry section index [n], -1 = misses the calorimeter)."""
        pdg = np.asarray(pdg)
        kinetic = np.asarray(kinetic, float)
        if len(pdg) == 0:
            return np.zeros(0, bool), np.zeros((0, 3)), np.zeros(0, np.int64)
        moving = np.linalg.norm(direction, axis=1) > 0
        safe = np.where(moving[:, None], direction, [[0.0, 0.0, 1.0]])
        point, section, _ = geometry.entry(vertex, safe)
        section = np.where(moving, section, -1)
        mask = moving & (section >= 0) & (kinetic >= self.energy_min) & (kinetic <= self.energy_max)
        if self.pdg:
            mask &= np.isin(pdg, self.pdg)
        if self.sections:
            names = np.array([s.name for s in geometry.sections])
            mask &= np.isin(names[np.clip(section, 0, None)], self.sections)
        return mask, point, section
