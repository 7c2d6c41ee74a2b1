"""Calorimeter simulation and reconstruction on a geometry shipped as data (see k4mlinference.detector).

    SimpleCalorimeterSim     MCParticles -> SimCalorimeterHits + CaloHitContributions (GFlash-style showers)
    SimpleCaloClustering     CalorimeterHits -> Clusters (calibrated energy, position, shape parameters)
    CaloClusterTruthLinker   Clusters + hits + sim hits/contributions -> ClusterMCParticleLinks

The digitizer between them (C++ CaloDigitizer) smears and thresholds cells; sampling fluctuations are already in
the simulation, so it runs with Calibration=1 and Stochastic=0, and the clustering converts visible cell energies
to the EM scale with each section's sampling fraction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from k4mlinference import edm
from k4mlinference.algorithms.sim.hits import deposits_to_hits
from k4mlinference.algorithms.sim.showers import ShowerParameters, simulate
from k4mlinference.detector import CalorimeterGeometry, GeometryUser, encoding_key
from k4mlinference.framework import Input, MultiTransformer, Output, Property, Transformer
from k4mlinference.framework.seeding import event_rng

NEUTRINOS = (12, 14, 16)
N_SHAPE_PARAMETERS = 7
SHAPE_PARAMETER_NAMES = ["radius", "dispersion", "width_2d_1", "width_2d_2", "width_3d_1", "width_3d_2", "width_3d_3"]


class SimpleCalorimeterSim(GeometryUser, MultiTransformer):
    """Parametrised calorimeter simulation: GFlash electromagnetic showers, hadronic showers with an exponential
    start depth, Bock et al. profile and an event-by-event pi0 fraction, sampling fluctuations; MCParticles ->
    SimCalorimeterHits (visible energy per cell) + CaloHitContributions (one per cell and particle). Seeded per
    event. The physics and its references are in k4mlinference.algorithms.sim.showers."""

    InputCollection = Input("MCParticles", type="edm4hep::MCParticleCollection", doc="particles to shower")
    OutputHits = Output("SimCalorimeterHits", type="edm4hep::SimCalorimeterHitCollection", doc="cells")
    OutputContributions = Output(
        "SimCaloHitContributions", type="edm4hep::CaloHitContributionCollection", doc="per-particle contributions"
    )
    SpotsPerParticle = Property(400, doc="energy spots per shower component")
    EMFractionConcentration = Property(2.0, doc="Beta concentration of the event-by-event pi0 fraction")
    SamplingFluctuations = Property(True, doc="smear cells with the sections' stochastic terms")
    GeneratorStatus = Property(1, doc="only MCParticles with this generatorStatus are showered (-1: all)")
    Seed = Property(7, doc="random seed (combined with the event number)")

    def initialize(self) -> None:
        self.params = ShowerParameters(
            spots=int(self.SpotsPerParticle), em_fraction_concentration=float(self.EMFractionConcentration)
        )
        self.geometry  # noqa: B018  (load now: a bad Geometry fails before the first event)

    def file_metadata(self) -> dict[str, Any]:
        return {encoding_key(self.OutputHits): self.geometry.encoding}

    def __call__(self, particles):
        rng = event_rng(self.Seed, self.event_number)
        with edm.reading(particles) as p:
            pdg = np.array(p["PDG"], dtype=np.int64)
            status = np.array(p["generatorStatus"])
            mass = np.array(p["mass"], dtype=np.float64)
        momentum = edm.positions(particles, "momentum")
        vertex = edm.positions(particles, "vertex")
        energy = np.sqrt(np.sum(momentum**2, axis=1) + mass**2)
        keep = ~np.isin(np.abs(pdg), NEUTRINOS)
        if int(self.GeneratorStatus) >= 0:
            keep &= status == int(self.GeneratorStatus)
        idx = np.nonzero(keep)[0]
        dep = simulate(self.geometry, vertex[idx], momentum[idx], energy[idx], pdg[idx], rng, self.params)
        owner = idx[dep.particle]
        return deposits_to_hits(
            self.geometry,
            dep.positions,
            dep.energies,
            owner,
            dep.times,
            pdg[owner],
            particles=particles,
            rng=rng if self.SamplingFluctuations else None,
        )


def log_weights(energy: np.ndarray, owner: np.ndarray, total: np.ndarray, w0: float) -> np.ndarray:
    """Logarithmic hit weights max(0, w0 + ln(E_hit / E_cluster)), the usual choice for shower positions."""
    frac = np.maximum(energy, 1e-30) / np.maximum(total[owner], 1e-30)
    return np.maximum(0.0, w0 + np.log(frac))


def weighted_moments(x: np.ndarray, w: np.ndarray, owner: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-group weighted mean [n, d] and covariance [n, d, d] of x [m, d] with weights w [m]."""
    wsum = np.maximum(np.bincount(owner, w, n), 1e-30)
    d = x.shape[1]
    mean = np.stack([np.bincount(owner, w * x[:, i], n) for i in range(d)], axis=1) / wsum[:, None]
    dx = x - mean[owner]
    cov = np.empty((n, d, d))
    for i in range(d):
        for j in range(i, d):
            cov[:, i, j] = cov[:, j, i] = np.bincount(owner, w * dx[:, i] * dx[:, j], n) / wsum
    return mean, cov


def shape_parameters(
    pos: np.ndarray, energy: np.ndarray, owner: np.ndarray, centre: np.ndarray, total: np.ndarray, w0: float
) -> np.ndarray:
    """The 7 cluster shape parameters EICrecon's clustering writes [n, 7]: radius (RMS hit distance from the
    cluster position, n-1 normalised), dispersion (log-weighted RMS distance), the two widths in (theta, phi)
    [rad] and the three widths in (x, y, z) [mm] (square roots of the weighted covariance eigenvalues,
    largest first)."""
    n = len(total)
    w = log_weights(energy, owner, total, w0)
    d2 = np.sum((pos - centre[owner]) ** 2, axis=1)
    nhits = np.bincount(owner, minlength=n)
    radius = np.sqrt(np.bincount(owner, d2, n) / np.maximum(nhits - 1, 1))
    dispersion = np.sqrt(np.bincount(owner, w * d2, n) / np.maximum(np.bincount(owner, w, n), 1e-30))
    angles = np.stack([np.arctan2(np.hypot(pos[:, 0], pos[:, 1]), pos[:, 2]), np.arctan2(pos[:, 1], pos[:, 0])], 1)
    _, cov2 = weighted_moments(angles, w, owner, n)
    _, cov3 = weighted_moments(pos, w, owner, n)
    ev2 = np.sqrt(np.abs(np.linalg.eigvalsh(cov2)))[:, ::-1]
    ev3 = np.sqrt(np.abs(np.linalg.eigvalsh(cov3)))[:, ::-1]
    out = np.column_stack([radius, dispersion, ev2, ev3])
    out[nhits < 2] = 0.0
    return out


class SimpleCaloClustering(GeometryUser, Transformer):
    """One cluster per event from the CalorimeterHits of the chosen Sections above MinHitEnergy: energy on the EM scale (hit energies
    divided by their section's sampling fraction), log-weighted position, EICrecon's 7 shape parameters
    (`shapeParameters`: radius, dispersion, 2 theta-phi widths, 3 x-y-z widths), `subdetectorEnergies` per
    geometry section and the hit relations."""

    InputCollection = Input("CalorimeterHits", type="edm4hep::CalorimeterHitCollection", doc="digitized hits")
    OutputCollection = Output("CaloClusters", type="edm4hep::ClusterCollection", doc="one cluster per event")
    MinHitEnergy = Property(0.0, doc="hits below this (visible) energy are ignored [GeV]")
    Sections = Property(
        ["ECalBarrel", "ECalEndcap"], doc="geometry sections whose hits are clustered (an EM cluster, as EICrecon's)"
    )
    Calibrate = Property(True, doc="divide hit energies by the sections' sampling fractions")
    LogWeightBase = Property(4.0, doc="w0 of the logarithmic position weights")

    def in_sections(self, cells: np.ndarray) -> np.ndarray:
        wanted = [self.geometry.section_index(name) for name in self.Sections]
        return np.isin(self.geometry.section_of_cells(cells), wanted)

    def __call__(self, hits):
        with edm.reading(hits) as h:
            cells = np.array(h["cellID"]) if len(hits) else np.zeros(0, dtype=np.uint64)
            keep = (np.array(h["energy"]) >= self.MinHitEnergy) & self.in_sections(cells) if len(hits) else []
            sel = np.nonzero(keep)[0]
            cells = cells[sel]
            visible = np.array(h["energy"], dtype=np.float64)[sel] if len(sel) else np.zeros(0)
        if len(sel) == 0:
            return edm.build_collection("edm4hep::ClusterCollection", 0)
        owner = np.zeros(len(sel), dtype=np.int64)
        c = cluster_arrays(
            self.geometry, owner, 1, cells, visible, edm.positions(hits)[sel], self.LogWeightBase, self.Calibrate
        )
        clusters = edm.build_collection(
            "edm4hep::ClusterCollection",
            1,
            energy=c.energy,
            position=c.position,
            iTheta=np.arctan2(np.hypot(c.position[:, 0], c.position[:, 1]), c.position[:, 2]),
            iPhi=np.arctan2(c.position[:, 1], c.position[:, 0]),
            shapeParameters=c.shapes,
            subdetectorEnergies=c.section_energies,
        )
        edm.set_one_to_many(clusters, "hits", [len(sel)], sel, hits)
        return clusters


@dataclass
class ClusterArrays:
    """Cluster quantities for n clusters, from their hits (see cluster_arrays)."""

    hit_energy: np.ndarray  # [m] EM-scale energy of each hit
    energy: np.ndarray  # [n]
    position: np.ndarray  # [n, 3] log-weighted
    shapes: np.ndarray  # [n, 7]
    section_energies: np.ndarray  # [n, n_sections]


def cluster_arrays(
    geometry: CalorimeterGeometry,
    owner: np.ndarray,
    n: int,
    cells: np.ndarray,
    visible: np.ndarray,
    positions: np.ndarray,
    w0: float,
    calibrate: bool = True,
) -> ClusterArrays:
    """Energies, positions, shape parameters and per-section energies of n clusters whose hits (cellIDs, visible
    energies, positions) belong to cluster `owner`; vectorised over clusters (used by SimpleCaloClustering and by
    the bulk sample generation for training)."""
    e = geometry.em_scale(cells, visible) if calibrate else np.asarray(visible, dtype=np.float64)
    total = np.bincount(owner, e, n)
    w = log_weights(e, owner, total, w0)
    wsum = np.bincount(owner, w, n)
    weighted = np.stack([np.bincount(owner, w * positions[:, i], n) for i in range(3)], axis=1)
    linear = np.stack([np.bincount(owner, e * positions[:, i], n) for i in range(3)], axis=1)
    centre = np.where(
        (wsum > 0)[:, None], weighted / np.maximum(wsum, 1e-30)[:, None], linear / np.maximum(total, 1e-30)[:, None]
    )
    section = geometry.section_of_cells(cells)
    n_sec = len(geometry.sections)
    per_section = np.bincount(owner * (n_sec + 1) + section + 1, e, n * (n_sec + 1)).reshape(n, n_sec + 1)[:, 1:]
    shapes = shape_parameters(positions, e, owner, centre, total, w0)
    return ClusterArrays(e, total, centre, shapes, per_section)


class CaloClusterTruthLinker(Transformer):
    """MC truth of clusters from the simulation's hit contributions: for every (cluster, MCParticle) pair with
    energy in the cluster, an `edm4hep::ClusterMCParticleLink` whose weight is that particle's share of the
    cluster's simulated energy. Reconstructed hits are matched to simulated ones by cellID."""

    InputClusters = Input("CaloClusters", type="edm4hep::ClusterCollection", doc="clusters")
    InputHits = Input("CalorimeterHits", type="edm4hep::CalorimeterHitCollection", doc="the clusters' hits")
    InputSimHits = Input("SimCalorimeterHits", type="edm4hep::SimCalorimeterHitCollection", doc="simulated cells")
    InputContributions = Input(
        "SimCaloHitContributions", type="edm4hep::CaloHitContributionCollection", doc="their contributions"
    )
    InputParticles = Input("MCParticles", type="edm4hep::MCParticleCollection", doc="the link targets")
    OutputLinks = Output(
        "CaloClusterMCLinks",
        type="podio::LinkCollection<edm4hep::Cluster,edm4hep::MCParticle>",
        doc="ClusterMCParticleLinks",
    )

    def __call__(self, clusters, hits, sim_hits, contributions, particles):
        link_type = "edm4hep::ClusterMCParticleLinkCollection"
        cluster_of, hit = edm.members(clusters, "hits", hits)
        sim_owner, contrib = edm.members(sim_hits, "contributions", contributions)
        if len(hit) == 0 or len(contrib) == 0:
            return edm.build_collection(link_type, 0)
        hit_cells = np.array(hits.view("cellID"))
        sim_cells = np.array(sim_hits.view("cellID"))
        order = np.argsort(sim_cells)
        at = np.clip(np.searchsorted(sim_cells[order], hit_cells[hit]), 0, len(order) - 1)
        matched = sim_cells[order][at] == hit_cells[hit]
        sim_of_member = np.where(matched, order[at], -1)
        # contributions of every simulated cell, then expanded to the cluster members that hit the cell
        c_energy = np.array(contributions.view("energy"), dtype=np.float64)
        particle = np.array(contributions.relation_view("particle")["index"], dtype=np.int64)
        per_sim = np.bincount(sim_owner, minlength=len(sim_hits))
        first = np.cumsum(per_sim) - per_sim
        m = np.nonzero(sim_of_member >= 0)[0]
        counts = per_sim[sim_of_member[m]]
        rows = np.repeat(m, counts)
        k = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        ci = contrib[np.repeat(first[sim_of_member[m]], counts) + k]
        cl, part, energy = cluster_of[rows], particle[ci], c_energy[ci]
        ok = part >= 0
        cl, part, energy = cl[ok], part[ok], energy[ok]
        key = cl * (len(particles) + 1) + part
        uniq, inv = np.unique(key, return_inverse=True)
        e_pair = np.bincount(inv, energy)
        pair_cl, pair_part = uniq // (len(particles) + 1), uniq % (len(particles) + 1)
        total = np.bincount(pair_cl, e_pair, len(clusters))
        links = edm.build_collection(link_type, len(uniq), weight=e_pair / np.maximum(total[pair_cl], 1e-30))
        edm.set_one_to_one(links, "from", pair_cl, clusters)
        edm.set_one_to_one(links, "to", pair_part, particles)
        return links
