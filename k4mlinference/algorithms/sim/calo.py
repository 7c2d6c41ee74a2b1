"""A toy barrel calorimeter: shower simulation into cells, and a one-cluster-per-event reconstruction.

Geometry: a cylinder from InnerRadius outwards, NLayers layers of LayerThickness (mm), cells of
CellSize (mm) in z and the same arc length in phi at the inner radius. cellID bit field
(DD4hep-style): `layer:0:8,phi:8:16,z:24:-16` (z signed, stored with an offset of 2^15).

Showers are sampled as energy "spots": depth from a gamma-distribution longitudinal profile
(Longo's parametrisation, t_max = ln(E/Ec) + C), lateral offsets gaussian with the Moliere radius.
Everything is vectorised over spots with numpy; one event's random numbers come from (Seed, event).
"""

from __future__ import annotations

import numpy as np

from k4mlinference.edm.fill import new_collection, set_relation
from k4mlinference.framework import Input, MultiTransformer, Output, Property, Transformer
from k4mlinference.framework.seeding import event_rng

C_MM_PER_NS = 299.792458
NEUTRINOS = (12, 14, 16)
HADRONS = (211, 321, 2212, 2112, 130)  # shower hadronically: deeper, wider, lower visible response
CELL_ID_ENCODING = "layer:0:8,phi:8:16,z:24:-16"


def encode(layer: np.ndarray, iphi: np.ndarray, iz: np.ndarray) -> np.ndarray:
    return (
        layer.astype(np.uint64)
        | (iphi.astype(np.uint64) << np.uint64(8))
        | ((iz + (1 << 15)).astype(np.uint64) << np.uint64(24))
    )


def decode(cell_id: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cell_id = np.asarray(cell_id, dtype=np.uint64)
    layer = (cell_id & np.uint64(0xFF)).astype(np.int64)
    iphi = ((cell_id >> np.uint64(8)) & np.uint64(0xFFFF)).astype(np.int64)
    iz = ((cell_id >> np.uint64(24)) & np.uint64(0xFFFF)).astype(np.int64) - (1 << 15)
    return layer, iphi, iz


class SimpleCalorimeterSim(MultiTransformer):
    """Toy sampling-calorimeter simulation: MCParticles -> SimCalorimeterHits (energy visible in the active
    layers, SamplingFraction of the particle energy) + CaloHitContributions (one per cell and particle, with the
    particle relation). Longitudinal gamma profile, gaussian lateral profile; seeded per event."""

    InputCollection = Input("MCParticles", type="edm4hep::MCParticleCollection", doc="particles to shower")
    OutputHits = Output("SimCalorimeterHits", type="edm4hep::SimCalorimeterHitCollection", doc="cells")
    OutputContributions = Output(
        "SimCaloHitContributions", type="edm4hep::CaloHitContributionCollection", doc="per-particle contributions"
    )
    InnerRadius = Property(1500.0, doc="inner radius of the barrel [mm]")
    NLayers = Property(25, doc="number of layers")
    LayerThickness = Property(8.0, doc="layer thickness [mm]")
    RadiationLength = Property(7.0, doc="effective radiation length X0 [mm]")
    CriticalEnergy = Property(0.01, doc="critical energy Ec [GeV]")
    MoliereRadius = Property(20.0, doc="lateral spread (Moliere radius) [mm]")
    CellSize = Property(10.0, doc="cell size in z and in r*phi at the inner radius [mm]")
    SamplingFraction = Property(0.1, doc="visible fraction of the deposited energy")
    InteractionLength = Property(170.0, doc="nuclear interaction length lambda_I of hadrons [mm]")
    HadronicResponse = Property(0.6, doc="visible energy of a hadron shower relative to an EM one (e/h)")
    HadronicWidth = Property(3.0, doc="lateral spread of hadron showers in units of the Moliere radius")
    MaxEMFraction = Property(1.0, doc="upper end of the EM (pi0) fraction of hadron showers, drawn per particle")
    SpotsPerParticle = Property(400, doc="energy spots sampled per particle")
    Seed = Property(7, doc="random seed (combined with the event number)")

    def __call__(self, particles):
        rng = event_rng(self.Seed, self.event_number)
        hits_type, contribs_type = "edm4hep::SimCalorimeterHitCollection", "edm4hep::CaloHitContributionCollection"
        d = particles.data_view()
        pdg = d["PDG"]
        p = np.stack([d["momentum"]["x"], d["momentum"]["y"], d["momentum"]["z"]], axis=1)
        pmag = np.linalg.norm(p, axis=1)
        energy = np.sqrt(pmag**2 + d["mass"] ** 2)
        use = np.nonzero((pmag > 0) & ~np.isin(np.abs(pdg), NEUTRINOS))[0]
        m = int(self.SpotsPerParticle)
        if len(use) == 0 or m <= 0:
            return new_collection(hits_type, 0)[0], new_collection(contribs_type, 0)[0]
        direction = p[use] / pmag[use, None]
        e = energy[use]
        # longitudinal: gamma(a, b) in units of X0 with b = 0.5, t_max = (a - 1)/b = ln(E/Ec) - 0.5
        b = 0.5
        t_max = np.clip(np.log(e / self.CriticalEnergy) - 0.5, 0.5, None)
        a = b * t_max + 1.0
        depth = rng.gamma(np.repeat(a, m), 1.0 / b) * self.RadiationLength  # mm along the direction
        lateral = rng.normal(0.0, self.MoliereRadius / 2.0, size=(len(use) * m, 2))
        # hadrons: first interaction ~ exp(lambda_I); a fluctuating fraction of the energy (pi0s) then
        # showers electromagnetically from there, the rest as a deeper, wider, weaker hadronic cascade
        hadron = np.repeat(np.isin(np.abs(pdg[use]), HADRONS), m)
        response = np.ones(len(hadron))
        if hadron.any():
            n_had = int(hadron.sum())
            first = np.repeat(rng.exponential(self.InteractionLength, size=n_had // m), m)
            f_em = np.repeat(rng.beta(1.5, 2.0, size=n_had // m) * self.MaxEMFraction, m)
            em_part = rng.random(n_had) < f_em
            cascade = first + rng.gamma(2.0, self.InteractionLength / 4.0, size=n_had)
            depth[hadron] = np.where(em_part, first + depth[hadron], cascade)
            lateral[hadron] *= np.where(em_part, 1.0, self.HadronicWidth)[:, None]
            response[hadron] = np.where(em_part, 1.0, self.HadronicResponse)
        dirs = np.repeat(direction, m, axis=0)
        # two unit vectors orthogonal to each direction
        helper = np.where(np.abs(dirs[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
        u = np.cross(dirs, helper)
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        v = np.cross(dirs, u)
        sin_t = np.clip(np.hypot(dirs[:, 0], dirs[:, 1]), 1e-3, None)
        path = self.InnerRadius / sin_t + depth
        pos = dirs * path[:, None] + u * lateral[:, :1] + v * lateral[:, 1:]
        rho = np.hypot(pos[:, 0], pos[:, 1])
        layer = np.floor((rho - self.InnerRadius) / self.LayerThickness).astype(np.int64)
        dphi = self.CellSize / self.InnerRadius
        nphi = int(np.ceil(2 * np.pi / dphi))
        iphi = np.floor(np.mod(np.arctan2(pos[:, 1], pos[:, 0]), 2 * np.pi) / dphi).astype(np.int64) % nphi
        iz = np.floor(pos[:, 2] / self.CellSize).astype(np.int64)
        inside = (layer >= 0) & (layer < self.NLayers) & (np.abs(iz) < (1 << 15) - 1)
        owner = np.repeat(np.arange(len(use)), m)
        spot_e = np.repeat(e * self.SamplingFraction / m, m) * response
        spot_t = np.linalg.norm(pos, axis=1) / C_MM_PER_NS
        layer, iphi, iz, owner, spot_e, spot_t, pos = (x[inside] for x in (layer, iphi, iz, owner, spot_e, spot_t, pos))
        cell = encode(layer, iphi, iz)
        # one contribution per (cell, particle): sort by cell then particle
        key_order = np.lexsort((owner, cell))
        cell, owner, spot_e, spot_t, pos = (
            cell[key_order],
            owner[key_order],
            spot_e[key_order],
            spot_t[key_order],
            pos[key_order],
        )
        new_pair = np.ones(len(cell), dtype=bool)
        new_pair[1:] = (cell[1:] != cell[:-1]) | (owner[1:] != owner[:-1])
        starts = np.nonzero(new_pair)[0]
        c_cell, c_owner = cell[starts], owner[starts]
        c_energy = np.add.reduceat(spot_e, starts) if len(starts) else np.zeros(0)
        c_time = np.minimum.reduceat(spot_t, starts) if len(starts) else np.zeros(0)
        c_pos = pos[starts]
        contribs, cd = new_collection(contribs_type, len(starts))
        cd["PDG"] = pdg[use][c_owner]
        cd["energy"] = c_energy
        cd["time"] = c_time
        for k, ax in enumerate("xyz"):
            cd["stepPosition"][ax] = c_pos[:, k]
        del cd
        set_relation(contribs, "particle", use[c_owner], int(particles.getID()))
        # hits: one per cell, contributions contiguous
        new_cell = np.ones(len(c_cell), dtype=bool)
        new_cell[1:] = c_cell[1:] != c_cell[:-1]
        h_start = np.nonzero(new_cell)[0]
        h_end = np.append(h_start[1:], len(c_cell))
        hits, hd = new_collection(hits_type, len(h_start))
        h_cell = c_cell[h_start]
        hd["cellID"] = h_cell
        hd["energy"] = np.add.reduceat(c_energy, h_start) if len(h_start) else 0.0
        lay, ip, izz = decode(h_cell)
        r_c = self.InnerRadius + (lay + 0.5) * self.LayerThickness
        phi_c = (ip + 0.5) * dphi
        hd["position"]["x"] = r_c * np.cos(phi_c)
        hd["position"]["y"] = r_c * np.sin(phi_c)
        hd["position"]["z"] = (izz + 0.5) * self.CellSize
        hd["contributions_begin"] = h_start
        hd["contributions_end"] = h_end
        del hd
        set_relation(hits, "contributions", np.arange(len(c_cell)), int(contribs.getID()))
        return hits, contribs


class SimpleCaloClustering(Transformer):
    """Toy reconstruction: one cluster per event from all CalorimeterHits above MinHitEnergy (energy sum,
    energy-weighted position, hit relations)."""

    InputCollection = Input("CalorimeterHits", type="edm4hep::CalorimeterHitCollection", doc="digitized hits")
    OutputCollection = Output("CaloClusters", type="edm4hep::ClusterCollection", doc="one cluster per event")
    MinHitEnergy = Property(0.0, doc="hits below this energy are ignored [GeV]")

    def __call__(self, hits):
        d = hits.data_view() if len(hits) else None
        sel = np.nonzero(d["energy"] >= self.MinHitEnergy)[0] if d is not None else np.zeros(0, dtype=np.int64)
        if len(sel) == 0:
            return new_collection("edm4hep::ClusterCollection", 0)[0]
        e = d["energy"][sel].astype(np.float64)
        clusters, cd = new_collection("edm4hep::ClusterCollection", 1)
        total = e.sum()
        cd["energy"] = total
        cd["energyError"] = np.sqrt(np.sum(d["energyError"][sel].astype(np.float64) ** 2))
        for ax in "xyz":
            cd["position"][ax] = np.sum(e * d["position"][ax][sel]) / total
        cd["hits_begin"] = 0
        cd["hits_end"] = len(sel)
        del cd
        set_relation(clusters, "hits", sel, int(hits.getID()))
        return clusters
