"""Calorimeter PID (electron vs charged pion), EICrecon's Pre-ML / ONNX / Post-ML pattern on EDM4hep clusters.

    Clusters + hits + ClusterMCParticleLinks --CaloPIDFeatures--> features Tensor [n, n_features],
                                                                   targets Tensor int64 [n, 2] = (is pion, is e-)
    features --MLInference--> probabilities Tensor [n, 2] = (pion, electron)
    Clusters + probabilities --CaloPIDToParticleID--> ReconstructedParticles + ParticleIDs

Two feature sets: "k4ml" (default) describes the shower the way an electron/pion separation uses it: an EM shower
deposits all of p in the EM calorimeter, starts at once, peaks near ln(E/Ec) X0 and stays inside about one
Moliere radius; a hadron often starts late, leaks out of the back and is wide. "eicrecon" is the
layout of EICrecon's CalorimeterParticleIDPreML: p, E/p, polar and azimuthal angle of the cluster position, then
the cluster's 7 shape parameters. The momentum p is the linked MCParticle's, as EICrecon takes it until tracks
are matched.
"""

from __future__ import annotations

import numpy as np

from k4mlinference import edm
from k4mlinference.detector import CalorimeterGeometry, GeometryUser
from k4mlinference.edm import tensor
from k4mlinference.framework import Input, MultiTransformer, Output, Property

CLASS_PDG = [211, 11]  # model outputs (pion, electron), as EICrecon's Post-ML reads them
EICRECON_FEATURES = [
    "momentum",
    "energy_over_momentum",
    "polar_angle",
    "azimuthal_angle",
    "shape_radius",
    "shape_dispersion",
    "shape_width_theta_phi_1",
    "shape_width_theta_phi_2",
    "shape_width_xyz_1",
    "shape_width_xyz_2",
    "shape_width_xyz_3",
]
K4ML_FEATURES = [
    "log_energy",  # ln(E_cluster / GeV)
    "energy_over_momentum",  # E_cluster / p
    "start_fraction",  # energy in the first 2 X0 / E_cluster (a shower that starts late has little)
    "front_fraction",  # energy in the first FrontDepth X0 / E_cluster
    "back_fraction",  # energy in the last 5 X0 of its section / E_cluster (late or leaking showers)
    "mean_depth_minus_tmax",  # energy-weighted mean EM depth [X0] - ln(E/Ec)
    "rms_depth",  # energy-weighted RMS of the EM depth [X0]
    "core_fraction",  # EM energy within one Moliere radius of the shower axis / EM energy
    "lateral_rms",  # energy-weighted RMS distance from the axis in the EM calorimeter [Moliere radii]
    "max_cell_fraction",  # largest cell energy / E_cluster
    "log_cells",  # ln(1 + number of cells)
]
FEATURE_SETS = {"k4ml": K4ML_FEATURES, "eicrecon": EICRECON_FEATURES}
TENSOR = "edm4eic::TensorCollection"
LINKS = "podio::LinkCollection<edm4hep::Cluster,edm4hep::MCParticle>"


def eicrecon_rows(momentum: np.ndarray, energy: np.ndarray, position: np.ndarray, shapes: np.ndarray) -> np.ndarray:
    """EICrecon's [n, 11] rows: p, E/p, polar and azimuthal angle of the cluster position, 7 shape parameters."""
    polar = np.arctan2(np.hypot(position[:, 0], position[:, 1]), position[:, 2])
    azimuth = np.arctan2(position[:, 1], position[:, 0])
    return np.column_stack([momentum, energy / momentum, polar, azimuth, shapes[:, :7]])


def shower_rows(
    geo: CalorimeterGeometry,
    owner: np.ndarray,
    cells: np.ndarray,
    hit_energy: np.ndarray,
    positions: np.ndarray,
    energy: np.ndarray,
    position: np.ndarray,
    momentum: np.ndarray,
    front_depth: float,
) -> np.ndarray:
    """The "k4ml" rows (K4ML_FEATURES) of n clusters from their hits (cluster index `owner`, cellIDs, EM-scale
    energies, positions) and the clusters' energies, positions and momenta; no loop over clusters."""
    n = len(energy)
    section = geo.section_of_cells(cells)
    is_em = np.array([s.name.startswith("ECal") for s in geo.sections] + [False])[section]
    x0 = geo.material_constant(section, "X0")
    r_m = geo.material_constant(section, "moliere_radius")
    layer_depth = np.array([s.layer_thickness for s in geo.sections] + [np.nan])[section]
    total_depth = np.nan_to_num(np.array([s.depth for s in geo.sections] + [np.nan])[section] / x0)
    depth = np.nan_to_num((geo.coder.get(cells, "layer") + 0.5) * layer_depth / x0)  # [X0] from the front
    axis = position / np.maximum(np.linalg.norm(position, axis=1, keepdims=True), 1e-9)
    along = np.sum(positions * axis[owner], axis=1)
    lateral = np.nan_to_num(np.linalg.norm(positions - along[:, None] * axis[owner], axis=1) / r_m)
    e_em = np.where(is_em, hit_energy, 0.0)
    em_total = np.bincount(owner, e_em, n)
    safe_em = np.maximum(em_total, 1e-9)
    mean_depth = np.bincount(owner, e_em * depth, n) / safe_em
    rms_depth = np.sqrt(np.bincount(owner, e_em * (depth - mean_depth[owner]) ** 2, n) / safe_em)
    front = np.bincount(owner, e_em * (depth < front_depth), n)
    core = np.bincount(owner, e_em * (lateral < 1.0), n) / safe_em
    lat_rms = np.sqrt(np.bincount(owner, e_em * lateral**2, n) / safe_em)
    max_cell = np.zeros(n)
    np.maximum.at(max_cell, owner, hit_energy)
    ec = geo.sections[0].material.critical_energy
    safe_e = np.maximum(energy, 1e-9)
    return np.column_stack(
        [
            np.log(safe_e),
            energy / momentum,
            np.bincount(owner, e_em * (depth < 2.0), n) / safe_e,
            front / safe_e,
            np.bincount(owner, e_em * (depth > total_depth - 5.0), n) / safe_e,
            mean_depth - np.log(np.maximum(em_total, ec) / ec),
            rms_depth,
            core,
            lat_rms,
            max_cell / safe_e,
            np.log1p(np.bincount(owner, minlength=n)),
        ]
    )


class CaloPIDFeatures(GeometryUser, MultiTransformer):
    """Pre-ML: one feature row per cluster (FeatureSet "k4ml" or "eicrecon") as a float Tensor [n_clusters, 11],
    and EICrecon's target Tensor int64 [n_clusters, 2] = (is pion, is electron) from each cluster's highest-weight
    ClusterMCParticleLink (all zero without a link)."""

    InputClusters = Input("CaloClusters", type="edm4hep::ClusterCollection", doc="clusters with hit relations")
    InputHits = Input("CalorimeterHits", type="edm4hep::CalorimeterHitCollection", doc="the clusters' hits")
    InputLinks = Input("CaloClusterMCLinks", type=LINKS, doc="cluster -> MCParticle truth links")
    InputParticles = Input("MCParticles", type="edm4hep::MCParticleCollection", doc="the links' targets")
    OutputFeatures = Output("CaloPIDFeatures", type=TENSOR, doc="float Tensor [n_clusters, n_features]")
    OutputTargets = Output("CaloPIDTargets", type=TENSOR, doc="int64 Tensor [n_clusters, 2]: (is pion, is e-)")
    FeatureSet = Property("k4ml", doc="'k4ml' (shower-shape features) or 'eicrecon' (CalorimeterParticleIDPreML)")
    FrontDepth = Property(4.0, doc="depth of the 'front' of the EM calorimeter [X0]")

    def initialize(self) -> None:
        if self.FeatureSet not in FEATURE_SETS:
            raise ValueError(f"{self.name}.FeatureSet: {self.FeatureSet!r} is not one of {sorted(FEATURE_SETS)}")
        self.geometry  # noqa: B018  (a bad Geometry fails before the first event)

    def __call__(self, clusters, hits, links, particles):
        n = len(clusters)
        truth, _ = edm.best_links(links, n)
        pdg = np.array(particles.view("PDG"))[truth] if len(particles) else np.zeros(n, dtype=np.int64)
        p_true = np.linalg.norm(edm.positions(particles, "momentum"), axis=1)[truth] if len(particles) else 0.0
        energy = np.array(clusters.view("energy"), dtype=np.float64) if n else np.zeros(0)
        momentum = np.where(truth >= 0, p_true, energy)  # no truth: the cluster energy stands in for p
        if self.FeatureSet == "eicrecon":
            with edm.reading(clusters) as c:
                owner, values = c.vector("shapeParameters")
            shapes = np.zeros((n, 7))
            rank = np.arange(len(owner)) - np.searchsorted(owner, owner)
            shapes[owner[rank < 7], rank[rank < 7]] = values[rank < 7]
            feats = eicrecon_rows(momentum, energy, edm.positions(clusters), shapes)
        else:
            owner, hit = edm.members(clusters, "hits", hits)
            cells = np.array(hits.view("cellID"))[hit] if len(hit) else np.zeros(0, dtype=np.uint64)
            visible = np.array(hits.view("energy"), dtype=np.float64)[hit] if len(hit) else np.zeros(0)
            hit_energy = self.geometry.em_scale(cells, visible)
            feats = shower_rows(
                self.geometry,
                owner,
                cells,
                hit_energy,
                edm.positions(hits)[hit],
                energy,
                edm.positions(clusters),
                momentum,
                self.FrontDepth,
            )
        targets = np.zeros((n, 2), np.int64)
        targets[:, 0] = (truth >= 0) & (pdg != 11)
        targets[:, 1] = (truth >= 0) & (pdg == 11)
        return tensor.from_array(feats.astype(np.float32)), tensor.from_array(targets)


class CaloPIDToParticleID(MultiTransformer):
    """Post-ML: for each cluster a ReconstructedParticle (energy, direction from the cluster position, PDG of the
    most likely class, cluster relation) and one ParticleID per class (likelihood = model probability), the model
    output read as [n_clusters, len(ClassPDG)] in ClassPDG order, as EICrecon's CalorimeterParticleIDPostML does."""

    InputClusters = Input("CaloClusters", type="edm4hep::ClusterCollection", doc="the clusters scored")
    InputProbabilities = Input("CaloPIDProbabilities", type=TENSOR, doc="float Tensor [n_clusters, n_classes]")
    OutputParticles = Output(
        "CaloPIDParticles", type="edm4hep::ReconstructedParticleCollection", doc="one particle per cluster"
    )
    OutputParticleIDs = Output("CaloPIDs", type="edm4hep::ParticleIDCollection", doc="one ParticleID per class")
    ClassPDG = Property(list(CLASS_PDG), doc="PDG code of each output class, in the model's order")
    AlgorithmType = Property(1, doc="ParticleID.algorithmType written")

    def __call__(self, clusters, probabilities):
        n, classes = len(clusters), np.array([int(x) for x in self.ClassPDG])
        prob = tensor.as_array(probabilities) if len(probabilities) else np.zeros((0, len(classes)), np.float32)
        if prob.shape != (n, len(classes)):
            raise ValueError(
                f"{self.name}: probabilities have shape {prob.shape}, expected ({n}, {len(classes)}) for {n} clusters"
            )
        energy = np.array(clusters.view("energy"), dtype=np.float64) if n else np.zeros(0)
        direction = edm.directions(clusters, "position")
        best = classes[np.argmax(prob, axis=1)] if n else np.zeros(0, dtype=np.int64)
        particles = edm.build_collection(
            "edm4hep::ReconstructedParticleCollection",
            n,
            energy=energy,
            momentum=energy[:, None] * direction,
            PDG=best,
            charge=np.where(np.abs(best) == 11, -1.0, np.where(np.abs(best) == 211, 1.0, 0.0)),
            goodnessOfPID=prob.max(axis=1) if n else np.zeros(0),
        )
        edm.set_one_to_many(particles, "clusters", np.ones(n, dtype=np.int64), np.arange(n), clusters)
        pids = edm.build_collection(
            "edm4hep::ParticleIDCollection",
            n * len(classes),
            PDG=np.tile(classes, n),
            likelihood=prob.reshape(-1),
            algorithmType=int(self.AlgorithmType),
            type=0,
        )
        edm.set_one_to_one(pids, "particle", np.repeat(np.arange(n), len(classes)), particles)
        return particles, pids
