"""Pre-ML feature rows of the calorimeter PID, vectorised over clusters (no loop over objects).

Two layouts:
  * EICrecon's CalorimeterParticleIDPreML ("eicrecon"): p, E/p, polar and azimuthal angle of the cluster position,
    then the cluster's 7 shape parameters;
  * ours ("k4ml"): shower-shape quantities an electron/pion separation relies on. An EM shower deposits all of p
    in the EM calorimeter, starts at once, peaks near ln(E/Ec) X0 and stays within about one Moliere radius; a
    hadron often starts late, leaks out of the back and is wide.
Both are plain array functions, used by CaloPIDFeatures and by the bulk training samples alike.
"""

from __future__ import annotations

import numpy as np

from k4mlinference.detector import CalorimeterGeometry

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
