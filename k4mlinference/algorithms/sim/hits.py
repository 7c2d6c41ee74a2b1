"""Energy deposits -> SimCalorimeterHits + CaloHitContributions, shared by the parametrised and fast simulations.

Both simulations produce point deposits (position, energy, owning MCParticle, time); this module turns them into
the EDM4hep collections a DD4hep simulation writes: one SimCalorimeterHit per cell (cellID from the geometry's
readout, position = cell centre), one CaloHitContribution per (cell, particle) with its `particle` relation, the
hits' `contributions` relation pointing at them. Hit energies are visible (active-layer) energies: the deposit
times the section's sampling fraction, with the sampling fluctuations of the section's stochastic term.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from k4mlinference import edm
from k4mlinference.detector.geometry import CalorimeterGeometry

HITS = "edm4hep::SimCalorimeterHitCollection"
CONTRIBUTIONS = "edm4hep::CaloHitContributionCollection"


def sampling_response(
    geometry: CalorimeterGeometry, energy: np.ndarray, section: np.ndarray, rng: np.random.Generator | None
) -> np.ndarray:
    """Visible energy of cells with deposited energy `energy` [GeV]: sampling fraction f times a Gamma-distributed
    deposit with mean E and variance a^2 E (a = stochastic term). Gammas of a common scale add up to a Gamma, so
    a shower spread over any number of cells has exactly sigma/E = a/sqrt(E), and no cell goes negative."""
    f = geometry.material_constant(section, "sampling_fraction")
    if rng is None:
        return f * energy
    a2 = geometry.material_constant(section, "stochastic_term") ** 2
    shape = np.maximum(energy, 0.0) / a2
    fluct = np.where(shape > 0, rng.gamma(np.maximum(shape, 1e-300), 1.0) * a2, 0.0)
    return f * fluct


def deposits_to_hits(
    geometry: CalorimeterGeometry,
    positions: np.ndarray,
    energies: np.ndarray,
    particle_index: np.ndarray,
    times: np.ndarray,
    pdg: np.ndarray,
    *,
    particles: Any | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[Any, Any]:
    """(SimCalorimeterHitCollection, CaloHitContributionCollection) from deposits [n] (positions [n, 3] mm,
    deposited energies GeV, index of the owning particle in `particles`, times ns, PDG codes).

    Deposits outside every section are dropped (the caller counts them as leakage). `particles` (the
    MCParticleCollection the indices refer to) sets the contributions' `particle` relation; without it the
    relation stays unset. `rng` switches on sampling fluctuations (see `sampling_response`).
    """
    pos = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    cells, section = geometry.locate(pos)
    inside = section >= 0
    cells, section, pos = cells[inside], section[inside], pos[inside]
    energy = np.asarray(energies, dtype=np.float64)[inside]
    owner = np.asarray(particle_index, dtype=np.int64)[inside]
    time = np.asarray(times, dtype=np.float64)[inside]
    code = np.asarray(pdg, dtype=np.int64)[inside]
    order = np.lexsort((owner, cells))
    cells, section, pos, energy, owner, time, code = (
        x[order] for x in (cells, section, pos, energy, owner, time, code)
    )
    first = np.ones(len(cells), dtype=bool)
    first[1:] = (cells[1:] != cells[:-1]) | (owner[1:] != owner[:-1])
    starts = np.nonzero(first)[0]
    c_energy = np.add.reduceat(energy, starts) if len(starts) else np.zeros(0)
    c_time = np.minimum.reduceat(time, starts) if len(starts) else np.zeros(0)
    weighted = np.add.reduceat(pos * energy[:, None], starts) if len(starts) else np.zeros((0, 3))
    c_pos = weighted / np.where(c_energy > 0, c_energy, 1.0)[:, None]
    c_cell, c_section, c_owner, c_pdg = cells[starts], section[starts], owner[starts], code[starts]
    new_cell = np.ones(len(c_cell), dtype=bool)
    new_cell[1:] = c_cell[1:] != c_cell[:-1]
    h_start = np.nonzero(new_cell)[0]
    h_deposit = np.add.reduceat(c_energy, h_start) if len(h_start) else np.zeros(0)
    h_cell, h_section = c_cell[h_start], c_section[h_start]
    h_energy = sampling_response(geometry, h_deposit, h_section, rng)
    scale = np.divide(h_energy, h_deposit, out=np.zeros_like(h_energy), where=h_deposit > 0)
    counts = np.diff(np.append(h_start, len(c_cell)))
    contribs = edm.build_collection(
        CONTRIBUTIONS,
        len(c_cell),
        PDG=c_pdg,
        energy=c_energy * np.repeat(scale, counts),
        time=c_time,
        stepPosition=c_pos,
    )
    if particles is not None:
        edm.set_one_to_one(contribs, "particle", c_owner, particles)
    hits = edm.build_collection(
        HITS, len(h_cell), cellID=h_cell, energy=h_energy, position=geometry.cell_centres(h_cell, h_section)
    )
    edm.set_one_to_many(hits, "contributions", counts, np.arange(len(c_cell)), contribs)
    return hits, contribs
