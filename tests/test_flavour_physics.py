"""Flavour-tagging physics on hand-built input: helix parameters, impact-parameter sign and significance,
vertex finding, heavy-flavour ancestry and the feature registry's errors."""

from __future__ import annotations

import numpy as np
import pytest

from k4mlinference.algorithms.flavour.detector import COV_DIAG, helix_at_ip, resolutions
from k4mlinference.algorithms.flavour.event import Particles
from k4mlinference.algorithms.flavour.features import JetContext, compute
from k4mlinference.algorithms.flavour.jets import heavy_flavour_ancestry
from k4mlinference.algorithms.flavour.vertexing import find_secondaries, fit_primary

BZ = 2.0


def charged(momenta: np.ndarray, vertices: np.ndarray) -> Particles:
    """Charged pions with exact (unsmeared) AtIP track states and the detector model's covariance."""
    n = len(momenta)
    charge = np.ones(n)
    st = helix_at_ip(charge, momenta, vertices, BZ)
    p = np.linalg.norm(momenta, axis=1)
    pt = np.hypot(momenta[:, 0], momenta[:, 1])
    sig = resolutions(p, pt / p, pt)
    cov = np.zeros((n, 15))
    cov[:, COV_DIAG["D0"]] = sig["D0"] ** 2
    cov[:, COV_DIAG["Z0"]] = sig["Z0"] ** 2
    cov[:, COV_DIAG["phi"]] = sig["phi"] ** 2
    return Particles(
        p=momenta, energy=np.sqrt(p**2 + 0.13957**2), charge=charge, pdg=np.full(n, 211), has_track=np.ones(n, bool),
        d0=st["D0"], z0=st["Z0"], phi=st["phi"], omega=st["omega"], tan_lambda=st["tanLambda"], cov=cov,
    )  # fmt: skip


def test_helix_of_a_prompt_and_a_displaced_track() -> None:
    mom = np.array([[3.0, 4.0, 2.0], [5.0, 0.0, 0.0]])
    st = helix_at_ip(np.array([1.0, -1.0]), mom, np.array([[0.0, 0.0, 0.0], [0.0, 0.5, 1.0]]), BZ)
    assert st["D0"][0] == pytest.approx(0.0, abs=1e-9) and st["Z0"][0] == pytest.approx(0.0, abs=1e-9)
    assert st["phi"][0] == pytest.approx(np.arctan2(4, 3)) and st["tanLambda"][0] == pytest.approx(2 / 5)
    assert st["omega"][0] == pytest.approx(0.299792458e-3 * BZ / 5.0)  # positive charge: omega > 0
    # moving along +x through (0, 0.5): PCA = (-d0 sin(phi), d0 cos(phi)) = (0, 0.5) -> d0 = +0.5 (EDM4hep)
    assert st["D0"][1] == pytest.approx(0.5, rel=1e-4) and st["Z0"][1] == pytest.approx(1.0, rel=1e-4)
    assert st["omega"][1] < 0


def test_displaced_track_has_expected_ip_sign_and_significance() -> None:
    a = 0.1
    u = np.array([np.cos(a), np.sin(a), 0.0])
    mom = np.array([5.0 * u, 5.0 * u, 5.0 * np.array([1.0, 0.0, 0.0])])
    # downstream along the jet axis (b-decay-like), upstream (unphysical: negative sign), prompt
    vtx = np.array([[3.0, 0.0, 0.0], [-3.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    parts = charged(mom, vtx)
    ctx = JetContext(parts=parts, members=[np.arange(3)], jet_p=np.array([[40.0, 0.0, 0.0]]), jet_e=np.array([40.0]))
    f = compute(["pfcand_btagSip2dVal", "pfcand_btagSip2dSig", "pfcand_btagSip3dSig", "pfcand_dxy"], ctx)
    expected_ip = 3.0 * np.sin(a)  # distance of the (nearly straight, R = 8.3 m) track from the beam line
    sigma = np.hypot(0.005, 0.015 / 5.0)  # 5 um (+) 15 um GeV / (p sin^3/2 theta), theta = 90 deg
    val, sig = f["pfcand_btagSip2dVal"][0], f["pfcand_btagSip2dSig"][0]
    assert val[0] == pytest.approx(expected_ip, rel=2e-3) and sig[0] == pytest.approx(expected_ip / sigma, rel=2e-3)
    assert val[1] == pytest.approx(-expected_ip, rel=2e-3) and sig[1] < -40
    assert abs(sig[2]) < 1e-3
    # 3D: z0 = 0 here, and sigma(z0) = sigma(d0) in the detector model
    assert f["pfcand_btagSip3dSig"][0][0] == pytest.approx(expected_ip / (np.sqrt(2) * sigma), rel=2e-3)
    assert f["pfcand_dxy"][0][0] == pytest.approx(-expected_ip, rel=2e-3)  # unsigned d0: the track passes below


def test_neutral_constituents_take_the_documented_default() -> None:
    parts = charged(np.array([[5.0, 0.0, 0.0]]), np.zeros((1, 3)))
    neutral = Particles(
        p=np.array([[3.0, 0.1, 0.0]]), energy=np.array([3.0]), charge=np.zeros(1), pdg=np.array([22]),
        has_track=np.zeros(1, bool), d0=np.full(1, np.nan), z0=np.full(1, np.nan), phi=np.full(1, np.nan),
        omega=np.full(1, np.nan), tan_lambda=np.full(1, np.nan), cov=np.full((1, 15), np.nan),
    )  # fmt: skip
    both = Particles(
        **{k: np.concatenate([getattr(parts, k), getattr(neutral, k)]) for k in parts.__dataclass_fields__}
    )
    ctx = JetContext(parts=both, members=[np.array([0, 1])], jet_p=np.array([[8.0, 0.1, 0]]), jet_e=np.array([8.0]))
    f = compute(["pfcand_btagSip2dSig", "pfcand_dxydxy", "pfcand_isGamma", "pfcand_mtof"], ctx)
    assert f["pfcand_btagSip2dSig"][0][1] == -9 and f["pfcand_dxydxy"][0][1] == -9
    np.testing.assert_array_equal(f["pfcand_isGamma"][0], [0, 1])
    np.testing.assert_array_equal(f["pfcand_mtof"][0], [0, 0])


def test_unknown_variable_lists_the_known_ones() -> None:
    ctx = JetContext(parts=charged(np.array([[5.0, 0, 0]]), np.zeros((1, 3))), members=[np.arange(1)],
                     jet_p=np.array([[5.0, 0, 0]]), jet_e=np.array([5.0]))  # fmt: skip
    with pytest.raises(KeyError, match=r"pfcand_nonsense.*known variables:.*pfcand_btagSip2dSig.*sv_mass"):
        compute(["pfcand_erel_log", "pfcand_nonsense"], ctx)


def test_vertex_finder_finds_the_displaced_vertex() -> None:
    rng = np.random.default_rng(3)
    prompt = rng.normal(size=(6, 3)) * 3 + np.array([0, 0, 0])
    sv_dir = np.array([1.0, 0.3, 0.2])
    decay = sv_dir * 4.0 + rng.normal(size=(3, 3)) * 1.5
    sv_pos = 3.0 * sv_dir / np.linalg.norm(sv_dir)
    parts = charged(np.concatenate([prompt, decay]), np.concatenate([np.zeros((6, 3)), np.tile(sv_pos, (3, 1))]))
    pv, pv_cov, used, _ = fit_primary(parts, beam_sigma=0.005, max_chi2=9.0)
    assert set(used.tolist()) == set(range(6)) and np.linalg.norm(pv) < 0.01
    svs = find_secondaries(parts, pv, pv_cov, np.setdiff1d(np.arange(9), used))
    assert len(svs) == 1
    pos, _, members, _ = svs[0]
    assert sorted(members.tolist()) == [6, 7, 8] and np.linalg.norm(pos - sv_pos) < 0.02


def test_heavy_flavour_ancestry_follows_decay_chains() -> None:
    # 0: b quark, 1: B0 (from 0), 2: D- (from B0), 3: pi (from D-), 4: pi (from string), 5: D0 (prompt), 6: K (from D0)
    pdg = np.array([5, 511, -411, 211, 211, 421, -321])
    parent = np.array([0, 1, 2, 5])
    child = np.array([1, 2, 3, 6])
    from_b, from_c = heavy_flavour_ancestry(pdg, parent, child)
    np.testing.assert_array_equal(from_b, [0, 1, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(from_c, [0, 0, 1, 1, 0, 1, 1])
