"""The flavour detector response's realism effects on hand-built MCParticles (conversions, displaced and
late-produced tracks, tracker acceptance, IP tails), the V0 veto of the vertex finder and Pythia's decays of
K0S / Lambda in the generator."""

from __future__ import annotations

import numpy as np
import pytest

from k4mlinference.algorithms.flavour import FlavourDetectorResponse, PythiaGenerator
from k4mlinference.algorithms.flavour.detector import C_LIGHT, conversions, helix_at_ip, resolutions
from k4mlinference.algorithms.flavour.event import Particles, particle_arrays
from k4mlinference.algorithms.flavour.vertexing import v0_tracks
from k4mlinference.edm.fill import new_collection

BZ = 2.0
CLEAN = dict(IPTailFraction=0.0, TrackingInefficiency=0.0, ConversionProbability=0.0)


def mc_particles(pdg, charge, mass, momenta, vertices) -> object:
    """A final-state (status 1) MCParticleCollection without relations."""
    n = len(pdg)
    coll, d = new_collection("edm4hep::MCParticleCollection", n)
    d["PDG"], d["generatorStatus"], d["charge"], d["mass"] = pdg, 1, charge, mass
    for k, a in enumerate("xyz"):
        d["momentum"][a] = np.asarray(momenta, float)[:, k]
        d["vertex"][a] = np.asarray(vertices, float)[:, k]
    del d
    return coll


def respond(mc, event: int = 1, **props):
    """The detector response of one event; a fresh instance name per call, because properties set on a name
    stay with that name (as in Gaudi's job options)."""
    respond.calls = getattr(respond, "calls", 0) + 1
    det = FlavourDetectorResponse(f"TestDetector{respond.calls}", **props)
    det.event_number = event
    return det(mc)


def link_targets(links, n: int) -> np.ndarray:
    return np.asarray(links.relation_view("to")["index"][:n], np.int64)


def test_conversion_points_lie_on_the_photon_line_within_the_radii() -> None:
    rng = np.random.default_rng(1)
    p = rng.normal(size=(500, 3)) * 5.0
    vertex = np.zeros((500, 3))
    vertex[-1] = [200.0, 0.0, 0.0]  # produced beyond the largest radius: cannot convert
    c = conversions(p, vertex, np.zeros(500), rng, (15.0, 100.0))
    assert 499 not in c["photon"] and len(c["photon"]) == 2 * 499
    r = np.hypot(c["vertex"][:, 0], c["vertex"][:, 1])
    assert r.min() >= 15.0 and r.max() <= 100.0
    u = p[c["photon"]] / np.linalg.norm(p[c["photon"]], axis=1, keepdims=True)
    np.testing.assert_allclose(np.cross(c["vertex"], u), 0.0, atol=1e-9)  # on the line through the origin
    np.testing.assert_allclose(c["p"][:499] + c["p"][499:], p[:499], rtol=1e-12)  # energy shared, collinear
    np.testing.assert_array_equal(c["charge"], np.repeat([-1.0, 1.0], 499))


def test_converted_photon_gives_two_tracks_from_the_conversion_radius_linked_to_the_photon() -> None:
    n = 40
    phi = np.linspace(0, 2 * np.pi, n, endpoint=False)
    mom = np.stack([3.0 * np.cos(phi), 3.0 * np.sin(phi), np.zeros(n)], axis=1)  # 3 GeV photons, theta = 90 deg
    mc = mc_particles(np.full(n, 22), np.zeros(n), np.zeros(n), mom, np.zeros((n, 3)))
    props = dict(CLEAN, ConversionProbability=1.0, TrackerOnlyIPFactor=1.0)
    tracks, parts, links = respond(mc, **props)
    arr = particle_arrays(parts, tracks)
    assert arr.has_track.all() and not np.any(arr.pdg == 22)  # no calorimeter photon left
    target = link_targets(links, len(parts))
    counts = np.bincount(target, minlength=n)
    assert counts.max() <= 2 and np.sum(counts == 2) >= 0.8 * n  # soft partners (pT < 0.1 GeV) may be lost
    for photon in np.flatnonzero(counts == 2):
        pair = np.flatnonzero(target == photon)
        assert sorted(arr.charge[pair]) == [-1.0, 1.0]
    # a track born at radius R tangent to a line through the origin has |D0| = sqrt(rho^2 + R^2) - rho
    rho = 1.0 / np.abs(arr.omega)
    radius = np.sqrt((np.abs(arr.d0) + rho) ** 2 - rho**2)
    assert radius.min() > 12.0 and radius.max() < 103.0 and np.median(radius) > 30.0


def test_displaced_late_and_outside_tracks() -> None:
    mom = [[2.0, 0.0, 0.5]] * 4
    # prompt; K0S-daughter-like at 30 mm (inside the vertex detector); at 200 mm (tracker only); at 1200 mm (lost)
    vtx = [[0.0, 0.0, 0.0], [0.0, 30.0, 0.0], [0.0, 200.0, 0.0], [0.0, 1200.0, 0.0]]
    mc = mc_particles(np.full(4, 211), np.ones(4), np.full(4, 0.13957), mom, vtx)
    tracks, parts, links = respond(mc, **CLEAN)
    arr = particle_arrays(parts, tracks)
    assert len(tracks) == 3
    np.testing.assert_array_equal(link_targets(links, 3), [0, 1, 2])
    exact = helix_at_ip(np.ones(3), np.array(mom[:3]), np.array(vtx[:3]), BZ)
    sigma_core = resolutions(np.full(3, np.sqrt(4.25)), np.full(3, 2 / np.sqrt(4.25)), np.full(3, 2.0))["D0"]
    sigma_d0 = np.sqrt(arr.cov[:, 0])
    np.testing.assert_allclose(sigma_d0, sigma_core * [1, 1, 10], rtol=1e-5)  # tracker-only IP beyond 60 mm
    assert abs(arr.d0[1]) == pytest.approx(30.0, rel=0.01) and abs(arr.d0[1]) / sigma_d0[1] > 1000
    assert np.all(np.abs(arr.d0 - exact["D0"]) < 6 * sigma_d0)


def test_ip_tails_widen_the_pulls_but_not_the_covariance() -> None:
    n = 3000
    rng = np.random.default_rng(5)
    mom = rng.normal(size=(n, 3)) * [4.0, 4.0, 1.0]
    mc = mc_particles(np.full(n, 211), np.ones(n), np.full(n, 0.13957), mom, np.zeros((n, 3)))
    pulls = {}
    for frac in (0.0, 0.2):
        tracks, parts, _ = respond(mc, **dict(CLEAN, IPTailFraction=frac))
        arr = particle_arrays(parts, tracks)
        pulls[frac] = arr.d0 / np.sqrt(arr.cov[:, 0])
    assert np.std(pulls[0.0]) == pytest.approx(1.0, abs=0.05)
    assert np.mean(np.abs(pulls[0.0]) > 3) < 0.01
    assert 0.06 < np.mean(np.abs(pulls[0.2]) > 3) < 0.12  # 20% x P(|x| > 3/f), f in [3, 5]: ~9%


def test_tracking_inefficiency_loses_tracks() -> None:
    n = 2000
    mom = np.tile([3.0, 1.0, 0.5], (n, 1))
    mc = mc_particles(np.full(n, 211), np.ones(n), np.full(n, 0.13957), mom, np.zeros((n, 3)))
    tracks, _, _ = respond(mc, **dict(CLEAN, TrackingInefficiency=0.1))
    assert 0.86 * n < len(tracks) < 0.94 * n


def opposite_pair(p1, p2, vertex) -> Particles:
    """Two exact tracks (charges +1, -1) from `vertex` with the detector model's covariance."""
    mom = np.array([p1, p2], float)
    charge = np.array([1.0, -1.0])
    st = helix_at_ip(charge, mom, np.tile(vertex, (2, 1)), BZ)
    p = np.linalg.norm(mom, axis=1)
    pt = np.hypot(mom[:, 0], mom[:, 1])
    sig = resolutions(p, pt / p, pt)
    cov = np.zeros((2, 15))
    cov[:, 0], cov[:, 9] = sig["D0"] ** 2, sig["Z0"] ** 2
    pt_at_pca = C_LIGHT * BZ / np.abs(st["omega"])
    p_pca = np.stack([pt_at_pca * np.cos(st["phi"]), pt_at_pca * np.sin(st["phi"]), mom[:, 2]], axis=1)
    return Particles(
        p=p_pca, energy=np.sqrt(p**2 + 0.13957**2), charge=charge, pdg=np.array([211, -211]),
        has_track=np.ones(2, bool), d0=st["D0"], z0=st["Z0"], phi=st["phi"], omega=st["omega"],
        tan_lambda=st["tanLambda"], cov=cov,
    )  # fmt: skip


def k0s_daughters(boost: float) -> tuple[np.ndarray, np.ndarray]:
    """pi+ pi- momenta (GeV) of a K0S decaying into +-y in its rest frame, boosted along x with gamma*beta = `boost`."""
    m, mpi = 0.497611, 0.13957
    q = np.sqrt(m**2 / 4 - mpi**2)
    e = m / 2
    return np.array([boost * e, q, 0.0]), np.array([boost * e, -q, 0.0])


def test_v0_veto_catches_a_k0s_and_keeps_a_non_v0_pair() -> None:
    p1, p2 = k0s_daughters(4.0)
    k0s = opposite_pair(p1, p2, np.array([3.0, 0.0, 0.0]))
    np.testing.assert_array_equal(v0_tracks(k0s, np.zeros(3), np.arange(2)), [0, 1])
    # the same geometry with a wider opening angle (mass ~ 1.2 GeV) is no V0
    other = opposite_pair([2.0, 0.6, 0.0], [2.0, -0.6, 0.0], np.array([3.0, 0.0, 0.0]))
    assert len(v0_tracks(other, np.zeros(3), np.arange(2))) == 0
    # a pair with the K0S mass at the primary vertex (a B or D decay product pair, say) is no V0 either
    prompt = opposite_pair(p1, p2, np.zeros(3))
    assert len(v0_tracks(prompt, np.zeros(3), np.arange(2))) == 0


def test_pythia_decays_k0s_and_lambda_but_keeps_pions_and_kaons() -> None:
    gen = PythiaGenerator("TestDecaysGenerator", Card="Zqq91")
    gen.initialize()
    status_of: dict[int, set[int]] = {}
    for event in range(30):
        gen.event_number = event
        d = gen().data_view()
        for pdg, status in zip(np.abs(d["PDG"]), d["generatorStatus"]):
            status_of.setdefault(int(pdg), set()).add(int(status))
        del d
    assert status_of[310] == {2} and status_of[3122] == {2}  # K0S and Lambda decayed
    for stable in (211, 321, 130):
        assert status_of[stable] == {1}
