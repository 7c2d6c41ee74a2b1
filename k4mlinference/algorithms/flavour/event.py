"""Reconstructed particles of one event as numpy columns, and the straight-line vertex fit.

Everything downstream of the detector response (vertexing, jet features) works on these columns:
momenta, energies, charges, PDG hypotheses and, for charged particles, the AtIP track state with its
covariance. Close to the interaction point a track is a straight line through its point of closest
approach (PCA) along its momentum (a 1 GeV track in 2 T curves by 1.7 m radius, so the sagitta over the
few mm of a b decay is below a micron); vertex fits are linear in that approximation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from k4mlinference.edm.resolver import find_collection

# EDM4hep covMatrix (lower triangle of d0, phi, omega, z0, tanLambda, time): the 15 entries of the
# 5x5 block, i.e. the first 15 values, in storage order.
COV5 = 15


@dataclass
class Particles:
    """Columns of one event's ReconstructedParticles (track quantities NaN for neutrals)."""

    p: np.ndarray  # [n, 3] GeV
    energy: np.ndarray
    charge: np.ndarray
    pdg: np.ndarray
    has_track: np.ndarray  # bool
    d0: np.ndarray  # mm
    z0: np.ndarray  # mm
    phi: np.ndarray
    omega: np.ndarray  # 1/mm
    tan_lambda: np.ndarray
    cov: np.ndarray  # [n, 15]

    def __len__(self) -> int:
        return len(self.energy)

    @property
    def pca(self) -> np.ndarray:
        """[n, 3] points of closest approach to the origin (NaN for neutrals)."""
        return np.stack([-self.d0 * np.sin(self.phi), self.d0 * np.cos(self.phi), self.z0], axis=1)

    @property
    def direction(self) -> np.ndarray:
        """[n, 3] unit momentum directions."""
        return self.p / np.maximum(np.linalg.norm(self.p, axis=1, keepdims=True), 1e-12)

    @property
    def ip_sigma(self) -> np.ndarray:
        """Isotropic position uncertainty of a track near the IP [mm] (from sigma(d0), sigma(z0))."""
        return np.sqrt(0.5 * (self.cov[:, 0] + self.cov[:, 9]))


def particle_arrays(parts: Any, tracks: Any = None) -> Particles:
    """The columns of a ReconstructedParticleCollection; track states come from `tracks`, or from the
    collection the particles' `tracks` relation points to (found through the frame)."""
    n = len(parts)
    d = parts.data_view()
    out = Particles(
        p=np.stack([d["momentum"][a] for a in "xyz"], axis=1).astype(np.float64),
        energy=d["energy"].astype(np.float64),
        charge=d["charge"].astype(np.float64),
        pdg=d["PDG"].astype(np.int64),
        has_track=(d["tracks_end"] > d["tracks_begin"]).copy(),
        d0=np.full(n, np.nan),
        z0=np.full(n, np.nan),
        phi=np.full(n, np.nan),
        omega=np.full(n, np.nan),
        tan_lambda=np.full(n, np.nan),
        cov=np.full((n, COV5), np.nan),
    )
    first = d["tracks_begin"].astype(np.int64)
    del d
    it = np.flatnonzero(out.has_track)
    if not len(it):
        return out
    rel = parts.relation_view("tracks")
    trk_idx = rel["index"][first[it]].astype(np.int64)
    if tracks is None:
        tracks = find_collection(parts, int(rel["collectionID"][first[it[0]]]))
        if tracks is None:
            raise LookupError("the particles' Tracks collection is not in the event (cannot read track states)")
    del rel
    td = tracks.data_view()
    state_idx = td["trackStates_begin"][trk_idx].astype(np.int64)
    del td
    ts = tracks.vector_view("trackStates")[state_idx]
    out.d0[it], out.z0[it], out.phi[it] = ts["D0"], ts["Z0"], ts["phi"]
    out.omega[it], out.tan_lambda[it] = ts["omega"], ts["tanLambda"]
    out.cov[it] = ts["covMatrix"]["values"][:, :COV5]
    return out


def fit_point(
    pca: np.ndarray, direction: np.ndarray, sigma: np.ndarray, prior: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted least-squares point closest to straight lines (point `pca`[n,3], unit `direction`[n,3],
    isotropic `sigma`[n]); `prior` = (position, inverse covariance) adds a constraint (the beam spot).
    Returns (position [3], covariance [3,3], chi2 per line [n])."""
    w = 1.0 / sigma**2
    proj = np.eye(3)[None] - direction[:, :, None] * direction[:, None, :]  # [n,3,3] onto the line's normal plane
    a = np.einsum("n,nij->ij", w, proj)
    b = np.einsum("n,nij,nj->i", w, proj, pca)
    if prior is not None:
        a = a + prior[1]
        b = b + prior[1] @ prior[0]
    cov = np.linalg.pinv(a)
    pos = cov @ b
    return pos, cov, line_chi2(pos, pca, direction, sigma)


def line_chi2(pos: np.ndarray, pca: np.ndarray, direction: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """chi2 of lines passing `pos` (their squared distance over sigma^2); pos [3] or [n,3]."""
    delta = pos - pca
    perp = delta - np.sum(delta * direction, axis=-1, keepdims=True) * direction
    return np.sum(perp**2, axis=-1) / sigma**2


def cov_lower(cov: np.ndarray) -> np.ndarray:
    """A 3x3 covariance as EDM4hep's CovMatrix3f lower triangle (xx, yx, yy, zx, zy, zz)."""
    return cov[np.tril_indices(3)]
