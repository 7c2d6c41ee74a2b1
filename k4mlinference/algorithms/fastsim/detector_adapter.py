"""TEMPORARY stand-in for branch `pid`'s parametrised simulation (`algorithms.sim.showers.simulate`), with its
signature, until that is merged; removed then. Longitudinal Gamma profile + gaussian lateral spread."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

C_MM_PER_NS = 299.792458


@dataclass
class Deposits:
    positions: np.ndarray
    energies: np.ndarray
    particle: np.ndarray
    times: np.ndarray


def simulate(geo, vertex, momentum, energy, pdg, rng, params=None) -> Deposits:
    direction = momentum / np.maximum(np.linalg.norm(momentum, axis=1, keepdims=True), 1e-12)
    point, sec, _ = geo.entry(vertex, direction)
    use = np.nonzero(sec >= 0)[0]
    m = 400
    e = energy[use]
    d = direction[use]
    x0 = geo.material_constant(sec[use], "X0")
    rm = geo.material_constant(sec[use], "moliere_radius")
    ec = geo.material_constant(sec[use], "critical_energy")
    b = 0.5
    t_max = np.clip(np.log(e / ec) - 0.5, 0.5, None)
    depth = rng.gamma(np.repeat(b * t_max + 1.0, m), 1.0 / b) * np.repeat(x0, m)
    lateral = rng.normal(0.0, 1.0, size=(len(use) * m, 2)) * np.repeat(rm / 2, m)[:, None]
    hadron = np.repeat(np.isin(np.abs(pdg[use]), (211, 321, 2212, 2112, 130)), m)
    response = np.ones(len(hadron))
    if hadron.any():
        nh = int(hadron.sum())
        first = np.repeat(rng.exponential(170.0, size=nh // m), m)
        em = rng.random(nh) < np.repeat(rng.beta(1.5, 2.0, size=nh // m), m)
        depth[hadron] = np.where(em, first + depth[hadron], first + rng.gamma(2.0, 170.0 / 4.0, size=nh))
        lateral[hadron] *= np.where(em, 1.0, 3.0)[:, None]
        response[hadron] = np.where(em, 1.0, 0.6)
    dirs = np.repeat(d, m, axis=0)
    helper = np.where(np.abs(dirs[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    u = np.cross(dirs, helper)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = np.cross(dirs, u)
    pos = np.repeat(point[use], m, axis=0) + dirs * depth[:, None] + u * lateral[:, :1] + v * lateral[:, 1:]
    return Deposits(pos, np.repeat(e / m, m) * response, np.repeat(use, m), np.linalg.norm(pos, axis=1) / C_MM_PER_NS)
