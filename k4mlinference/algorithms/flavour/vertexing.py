"""Primary-vertex fit and an LCFIPlus-like secondary-vertex finder on straight-line tracks.

Primary vertex: the point closest to all tracks (weights 1/sigma^2, sigma from the AtIP covariance) with a
beam-spot constraint (`BeamSpotSigma`, default 5 um in x and y, none in z); tracks with chi2 > `PVTrackChi2`
(default 9) are removed one at a time (largest first) and the fit is repeated until all remaining ones pass.

Secondary vertices, from the tracks left out of the primary:
1. seeds: every pair of such tracks whose two-track vertex has chi2 < `SVPairChi2`, lies at 3D flight-distance
   significance > `SVMinSignificance` from the primary and within `SVMaxRadius` of the beam, with the pair's
   momentum pointing away from the primary and a pair mass below `SVMaxMass`;
2. the seed with the lowest chi2 becomes a vertex; remaining displaced tracks whose chi2 to it is below
   `SVTrackChi2` are attached one at a time (best first) and the vertex is refitted after each;
3. its tracks are removed, seeds using them are dropped, and 2-3 repeat until no seed is left.

V0 veto (`V0Veto`, on by default, as LCFIPlus rejects V0s before its vertex finding): before step 1, pairs of
oppositely charged displaced tracks whose two-track vertex has chi2 < `SVPairChi2`, lies more than 0.5 mm from
the primary, and whose momentum (each track's direction turned along its helix to the vertex) points away from
the primary within 0.1 rad, are V0 candidates if their mass is within 15 MeV of the K0S mass (pi pi), within
8 MeV of the Lambda mass (p pi, either assignment) or below 30 MeV (e e: photon conversions, whose pair
direction at a straight-line vertex is the least precise); their tracks are taken out of the secondary-vertex
search. V0s decaying beyond a few mm are not found by the straight-line fit at all (their tracks curve) and
stay as displaced tracks: that background is left to the taggers.
"""

from __future__ import annotations

import numpy as np

from k4mlinference.algorithms.flavour.event import Particles, cov_lower, fit_point, line_chi2, particle_arrays
from k4mlinference.edm.fill import new_collection, set_relation
from k4mlinference.framework import Input, MultiTransformer, Output, Property

PRIMARY, SECONDARY = 1, 2  # Vertex.type flags written here
PION, PROTON, ELECTRON = 0.13957, 0.938272, 0.000511  # GeV
K0S_MASS, LAMBDA_MASS = 0.497611, 1.115683  # GeV
K0S_WINDOW, LAMBDA_WINDOW, CONVERSION_MAX_MASS = 0.015, 0.008, 0.030  # GeV, see the module docstring
V0_MIN_FLIGHT, V0_MAX_ANGLE = 0.5, 0.1  # mm, rad


def v0_tracks(parts: Particles, pv: np.ndarray, candidates: np.ndarray, pair_chi2: float = 9.0) -> np.ndarray:
    """Indices (a subset of `candidates`) of the tracks in K0S, Lambda and conversion candidates (module docstring)."""
    cand = np.asarray(candidates, np.int64)
    if len(cand) < 2:
        return np.zeros(0, np.int64)
    i, j = np.triu_indices(len(cand), 1)
    a, b = cand[i], cand[j]
    opposite = parts.charge[a] * parts.charge[b] < 0
    a, b = a[opposite], b[opposite]
    pca, direction, sigma = parts.pca, parts.direction, parts.ip_sigma
    pos, chi2 = pair_vertices(pca[a], direction[a], sigma[a], pca[b], direction[b], sigma[b])
    pa, pb = momentum_at(parts, a, pos), momentum_at(parts, b, pos)
    p_pair = pa + pb
    flight = pos - pv
    dist = np.linalg.norm(flight, axis=1)
    cos_angle = np.sum(flight * p_pair, axis=1) / np.maximum(dist * np.linalg.norm(p_pair, axis=1), 1e-12)

    def mass(ma: float, mb: float) -> np.ndarray:
        e = np.sqrt(np.sum(pa**2, axis=1) + ma**2) + np.sqrt(np.sum(pb**2, axis=1) + mb**2)
        return np.sqrt(np.maximum(e**2 - np.sum(p_pair**2, axis=1), 0.0))

    v0 = (
        (np.abs(mass(PION, PION) - K0S_MASS) < K0S_WINDOW)
        | (np.abs(mass(PROTON, PION) - LAMBDA_MASS) < LAMBDA_WINDOW)
        | (np.abs(mass(PION, PROTON) - LAMBDA_MASS) < LAMBDA_WINDOW)
        | (mass(ELECTRON, ELECTRON) < CONVERSION_MAX_MASS)
    )
    v0 &= (chi2 < pair_chi2) & (dist > V0_MIN_FLIGHT) & (cos_angle > np.cos(V0_MAX_ANGLE))
    return np.unique(np.concatenate([a[v0], b[v0]]))


def momentum_at(parts: Particles, idx: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Momenta [m, 3] of tracks `idx` at points `pos` [m, 3] near them: the direction at the PCA turned by
    -omega * s, s the transverse path from the PCA (EDM4hep helix: phi(s) = phi0 - omega s)."""
    pt = np.hypot(parts.p[idx, 0], parts.p[idx, 1])
    u = np.stack([np.cos(parts.phi[idx]), np.sin(parts.phi[idx])], axis=1)
    s = np.sum((pos[:, :2] - parts.pca[idx, :2]) * u, axis=1)
    phi = parts.phi[idx] - parts.omega[idx] * s
    return np.stack([pt * np.cos(phi), pt * np.sin(phi), parts.p[idx, 2]], axis=1)


def fit_primary(
    parts: Particles, beam_sigma: float, max_chi2: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(position, covariance, indices of the particles used, chi2) of the primary vertex."""
    beam = (np.zeros(3), np.diag([1.0 / beam_sigma**2, 1.0 / beam_sigma**2, 0.0]))
    use = np.flatnonzero(parts.has_track)
    pca, direction, sigma = parts.pca, parts.direction, parts.ip_sigma
    while True:
        if not len(use):
            return np.zeros(3), np.diag([beam_sigma**2, beam_sigma**2, 1.0]), use, 0.0
        pos, cov, chi2 = fit_point(pca[use], direction[use], sigma[use], beam)
        worst = int(np.argmax(chi2))
        if chi2[worst] <= max_chi2:
            return pos, cov, use, float(chi2.sum())
        use = np.delete(use, worst)


def find_secondaries(
    parts: Particles,
    pv: np.ndarray,
    pv_cov: np.ndarray,
    candidates: np.ndarray,
    pair_chi2: float = 9.0,
    track_chi2: float = 9.0,
    min_sig: float = 3.0,
    max_radius: float = 30.0,
    max_mass: float = 10.0,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, float]]:
    """Secondary vertices as (position, covariance, particle indices, chi2), see the module docstring."""
    pca, direction, sigma = parts.pca, parts.direction, parts.ip_sigma
    cand = np.asarray(candidates, np.int64)
    if len(cand) < 2:
        return []
    i, j = np.triu_indices(len(cand), 1)
    a, b = cand[i], cand[j]
    pos, chi2 = pair_vertices(pca[a], direction[a], sigma[a], pca[b], direction[b], sigma[b])
    flight = pos - pv
    p_pair = parts.p[a] + parts.p[b]
    e_pair = parts.energy[a] + parts.energy[b]
    mass = np.sqrt(np.maximum(e_pair**2 - np.sum(p_pair**2, axis=1), 0.0))
    dist = np.linalg.norm(flight, axis=1)
    sig_pair = np.sqrt(
        0.5 * (sigma[a] ** 2 + sigma[b] ** 2)
        + np.einsum("ni,ij,nj->n", flight, pv_cov, flight) / np.maximum(dist, 1e-12) ** 2
    )
    ok = (
        (chi2 < pair_chi2)
        & (dist / sig_pair > min_sig)
        & (np.hypot(pos[:, 0], pos[:, 1]) < max_radius)
        & (np.sum(flight * p_pair, axis=1) > 0)
        & (mass < max_mass)
    )
    seeds = [(float(c), int(x), int(y)) for c, x, y in zip(chi2[ok], a[ok], b[ok])]
    seeds.sort()
    used: set[int] = set()
    vertices = []
    for _, x, y in seeds:
        if x in used or y in used:
            continue
        members = [x, y]
        vpos, vcov, vchi = fit_point(pca[members], direction[members], sigma[members])
        while True:
            rest = np.array([t for t in cand if t not in used and t not in members], np.int64)
            if not len(rest):
                break
            c2 = line_chi2(vpos, pca[rest], direction[rest], sigma[rest])
            forward = np.sum((vpos - pv) * parts.p[rest], axis=1) > 0
            c2 = np.where(forward, c2, np.inf)
            best = int(np.argmin(c2))
            if c2[best] >= track_chi2:
                break
            members.append(int(rest[best]))
            vpos, vcov, vchi = fit_point(pca[members], direction[members], sigma[members])
        used.update(members)
        vertices.append((vpos, vcov, np.array(members, np.int64), float(vchi.sum())))
    return vertices


def pair_vertices(pa, da, sa, pb, db, sb) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised two-line vertex fits: (positions [m,3], chi2 [m]) for m pairs of lines."""
    eye = np.eye(3)[None]
    wa, wb = 1.0 / sa**2, 1.0 / sb**2
    proj_a = eye - da[:, :, None] * da[:, None, :]
    proj_b = eye - db[:, :, None] * db[:, None, :]
    a = wa[:, None, None] * proj_a + wb[:, None, None] * proj_b
    rhs = wa[:, None] * np.einsum("nij,nj->ni", proj_a, pa) + wb[:, None] * np.einsum("nij,nj->ni", proj_b, pb)
    pos = np.linalg.solve(a + 1e-12 * eye, rhs[..., None])[..., 0]
    chi2 = line_chi2(pos, pa, da, sa) + line_chi2(pos, pb, db, sb)
    return pos, chi2


def vertex_collection(vertices: list, kind: int, parts_coll) -> object:
    """An edm4hep::VertexCollection of (position, covariance, particle indices, chi2) with particle relations."""
    n = len(vertices)
    coll, d = new_collection("edm4hep::VertexCollection", n)
    counts = np.array([len(v[2]) for v in vertices], np.uint32)
    if n:
        pos = np.array([v[0] for v in vertices])
        for k, a in enumerate("xyz"):
            d["position"][a] = pos[:, k]
        d["covMatrix"]["values"] = np.array([cov_lower(v[1]) for v in vertices])
        d["chi2"] = [v[3] for v in vertices]
        d["ndf"] = np.maximum(2 * counts.astype(np.int64) - 3, 0)
        d["type"] = kind
        d["algorithmType"] = kind
        d["particles_end"] = np.cumsum(counts)
        d["particles_begin"] = d["particles_end"] - counts
    del d
    flat = np.concatenate([v[2] for v in vertices]).astype(np.int32) if n else np.zeros(0, np.int32)
    set_relation(coll, "particles", flat, int(parts_coll.getID()))
    return coll


class VertexFinder(MultiTransformer):
    """Primary-vertex fit with beam-spot constraint and an LCFIPlus-like secondary-vertex finder seeded by
    pairs of displaced tracks and grown iteratively (see k4mlinference.algorithms.flavour.vertexing)."""

    InputParticles = Input("ReconstructedParticles", type="edm4hep::ReconstructedParticleCollection", doc="particles")
    InputTracks = Input("Tracks", type="edm4hep::TrackCollection", doc="their tracks")
    OutputPrimaryVertices = Output("PrimaryVertices", type="edm4hep::VertexCollection", doc="one primary vertex")
    OutputSecondaryVertices = Output("SecondaryVertices", type="edm4hep::VertexCollection", doc="secondary vertices")
    BeamSpotSigma = Property(0.005, doc="beam-spot size in x and y [mm]")
    PVTrackChi2 = Property(9.0, doc="largest chi2 of a track kept in the primary vertex")
    SVPairChi2 = Property(9.0, doc="largest chi2 of a two-track seed")
    SVTrackChi2 = Property(9.0, doc="largest chi2 of a track attached to a secondary vertex")
    SVMinSignificance = Property(3.0, doc="smallest flight-distance significance of a seed")
    SVMaxRadius = Property(30.0, doc="largest transverse distance of a secondary vertex from the beam [mm]")
    SVMaxMass = Property(10.0, doc="largest two-track seed mass [GeV]")
    V0Veto = Property(True, doc="remove K0S/Lambda/conversion candidate tracks before the secondary search")

    def __call__(self, parts, tracks):
        arr = particle_arrays(parts, tracks)
        pv, pv_cov, used, chi2 = fit_primary(arr, self.BeamSpotSigma, self.PVTrackChi2)
        displaced = np.setdiff1d(np.flatnonzero(arr.has_track), used)
        if self.V0Veto:
            displaced = np.setdiff1d(displaced, v0_tracks(arr, pv, displaced, self.SVPairChi2))
        svs = find_secondaries(
            arr, pv, pv_cov, displaced, self.SVPairChi2, self.SVTrackChi2,
            self.SVMinSignificance, self.SVMaxRadius, self.SVMaxMass,
        )  # fmt: skip
        return (
            vertex_collection([(pv, pv_cov, used, chi2)], PRIMARY, parts),
            vertex_collection(svs, SECONDARY, parts),
        )
