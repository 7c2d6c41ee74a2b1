"""Geometry component of the fast simulation: mesh voxels -> global positions -> calorimeter deposits.

The shower frame is Geant4 Par04's: z along the particle direction starting at its entry point into the
calorimeter, x and y the unit vectors of increasing polar angle and azimuth of that direction (Par04 rotates
the mesh with rotateZ(-phi) then rotateY(-theta) and uses the inverse; this is the same basis). A voxel at
(r, phi, z) sits at entry + r cos(phi) x + r sin(phi) y + z * direction, with phi measured from the mesh's
`phi_offset` (a sidecar field: Par04 centres cell j at (j + 0.5) 2 pi / n_phi - pi, i.e. offset -180 deg).
One deposit per non-empty voxel at its centre, as Par04 and DDFastShowerML make their hits (or, when the sidecar
asks for `spots_per_shower`, that many equal-energy spots drawn from the voxel energies); the cells are then found
by the detector geometry's `locate` in `deposits_to_hits`.
"""

from __future__ import annotations

import numpy as np

from k4mlinference.algorithms.fastsim.model import Mesh


def shower_frame(direction: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit vectors (x, y, z) [n, 3] of the shower frame for directions [n, 3] (Par04's rotation)."""
    d = np.asarray(direction, float)
    d = d / np.linalg.norm(d, axis=1, keepdims=True)
    theta = np.arccos(np.clip(d[:, 2], -1.0, 1.0))
    phi = np.arctan2(d[:, 1], d[:, 0])
    ct, st, cp, sp = np.cos(theta), np.sin(theta), np.cos(phi), np.sin(phi)
    x = np.stack([ct * cp, ct * sp, -st], axis=1)
    y = np.stack([-sp, cp, np.zeros_like(sp)], axis=1)
    return x, y, d


def surface_normals(geometry, section_index: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Inward unit normals [n, 3] of the layers at the entry points: radial in a barrel, +-z in an endcap."""
    n = np.zeros((len(point), 3))
    kinds = np.array([s.kind for s in geometry.sections])
    kind = np.where(section_index >= 0, kinds[np.clip(section_index, 0, None)], "")
    barrel = kind == "barrel"
    rho = np.hypot(point[:, 0], point[:, 1])
    n[barrel, 0] = point[barrel, 0] / np.where(rho[barrel] > 0, rho[barrel], 1.0)
    n[barrel, 1] = point[barrel, 1] / np.where(rho[barrel] > 0, rho[barrel], 1.0)
    endcap = kind == "endcap"
    n[endcap, 2] = np.sign(point[endcap, 2])
    return n


def entry_angles(geometry, section_index: np.ndarray, point: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Incidence angle [deg] between the direction and the layers' inward normal (0 = perpendicular)."""
    d = direction / np.linalg.norm(direction, axis=1, keepdims=True)
    cos_a = np.abs(np.sum(d * surface_normals(geometry, section_index, point), axis=1))
    return np.degrees(np.arccos(np.clip(cos_a, 0.0, 1.0)))


def voxel_positions(mesh: Mesh, entry: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Global voxel centres [n, n_r, n_phi, n_z, 3] (mm) of n showers."""
    local = mesh.local_centres()  # [r, phi, z, 3]
    x, y, z = shower_frame(direction)
    basis = np.stack([x, y, z], axis=1)  # [n, 3 (local axis), 3 (global)]
    return entry[:, None, None, None, :] + np.einsum("rpzk,nkg->nrpzg", local, basis)


def voxels_to_deposits(
    mesh: Mesh,
    entry: np.ndarray,
    direction: np.ndarray,
    energies: np.ndarray,
    spots: int = 0,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Voxel energies [n, n_r, n_phi, n_z] of n showers -> (positions [m, 3] mm, energies [m], shower index [m]).

    spots = 0: one deposit per non-empty voxel at its centre (Par04, DDFastShowerML). spots = N > 0: each shower
    becomes N equal-energy deposits, the number per voxel drawn from the multinomial of the voxel energies and
    each placed uniformly inside its voxel, so a shower has the granularity of a simulation made of N energy
    spots; the shower's energy is kept exactly either way."""
    if spots > 0:
        flat = energies.reshape(len(energies), -1)
        total = flat.sum(axis=1)
        ok = total > 0
        p = np.divide(flat, total[:, None], out=np.zeros_like(flat), where=ok[:, None])
        p[~ok, 0] = 1.0
        counts = rng.multinomial(spots, p) * ok[:, None]
        shower, voxel = np.nonzero(counts)
        n = counts[shower, voxel]
        shower, voxel = np.repeat(shower, n), np.repeat(voxel, n)
        ir, ip, iz = np.unravel_index(voxel, energies.shape[1:])
        u = rng.random((len(shower), 3))
        r = (ir + u[:, 0]) * mesh.size_r
        phi = (ip + u[:, 1]) * (2 * np.pi / mesh.n_phi) + mesh.phi_offset
        local = np.stack([r * np.cos(phi), r * np.sin(phi), (iz + u[:, 2]) * mesh.size_z], axis=1)
        e = (total / spots)[shower]
    else:
        shower, ir, ip, iz = np.nonzero(energies > 0)
        local = mesh.local_centres()[ir, ip, iz]  # [m, 3]
        e = energies[shower, ir, ip, iz]
    if len(shower) == 0:
        return np.zeros((0, 3)), np.zeros(0), np.zeros(0, np.int64)
    x, y, z = shower_frame(direction)
    pos = entry[shower] + local[:, :1] * x[shower] + local[:, 1:2] * y[shower] + local[:, 2:] * z[shower]
    return pos, e, shower
