"""The parametrised calorimeter simulation: physics validation within tolerances, energy conservation, the
sampling model, the cellID encoding in the output metadata, and MC truth links from hit contributions."""

import numpy as np
import pytest

from k4mlinference import edm
from k4mlinference.algorithms.sim import validation
from k4mlinference.algorithms.sim.hits import deposits_to_hits
from k4mlinference.algorithms.sim.showers import simulate
from k4mlinference.detector import CalorimeterGeometry


@pytest.fixture(scope="module")
def geo():
    return CalorimeterGeometry.load("toy_calo")


@pytest.fixture(scope="module")
def report():
    return validation.validate(showers=300, seed=5)


def test_em_shower_maximum_follows_ln_e_over_ec(report):
    for p in report["electrons"]:
        assert abs(p["t_max_measured_X0"] - p["t_max_expected_X0"]) <= validation.TOLERANCES["t_max_abs_X0"], p
    t = [p["t_max_measured_X0"] for p in report["electrons"]]
    assert t[0] < t[1] < t[2]  # deeper with energy, ln(5) ~ 1.6 X0 per step
    assert 1.0 < t[1] - t[0] < 2.2 and 1.0 < t[2] - t[1] < 2.2


def test_em_lateral_containment_in_one_moliere_radius(report):
    lo, hi = validation.TOLERANCES["containment_1RM"]
    for p in report["electrons"]:
        assert lo <= p["containment_1RM"] <= hi, p


def test_stochastic_term_matches_the_configured_sampling_term(report):
    a, configured = report["stochastic_term_fit"], report["stochastic_term_configured"]
    assert abs(a / configured - 1) <= validation.TOLERANCES["stochastic_rel"]
    for p in report["electrons"]:
        assert abs(p["response"] - 1) < 0.02  # calibrated to the EM scale, little leakage


def test_pion_showers_start_exponentially_and_are_deep(report):
    for p in report["pions"]:
        assert abs(p["mean_start_lambda"] - p["expected_mean_start_lambda"]) <= 0.12
        assert (
            abs(p["mean_depth_lambda"] / p["expected_mean_depth_lambda"] - 1) <= validation.TOLERANCES["pion_depth_rel"]
        )
        assert abs(p["mean_em_fraction"] - p["expected_mean_em_fraction"]) < 0.05
        assert 0.03 < p["invisible_fraction"] < 0.3  # h/e < 1
    depth = [p["mean_depth_lambda"] for p in report["pions"]]
    assert depth[0] < depth[1] < depth[2] and depth[1] > 1.5


def test_energy_conservation(geo):
    """deposited + leaked = incident for every particle, and the hits see the deposits through the sampling
    model: sum(hit energy) / sampling fraction = visible-equivalent deposits within the sampling fluctuations."""
    rng = np.random.default_rng(3)
    n = 200
    pdg = rng.choice([11, -211, 13, 22, 2112], n)
    energy = rng.uniform(1, 40, n)
    phi, cos_t = rng.uniform(0, 2 * np.pi, n), rng.uniform(-0.95, 0.95, n)  # barrel, endcaps and gaps
    sin_t = np.sqrt(1 - cos_t**2)
    direction = np.column_stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t])
    dep = simulate(geo, np.zeros((n, 3)), direction * energy[:, None], energy, pdg, rng)
    np.testing.assert_allclose(dep.deposited + dep.leaked, energy, rtol=0, atol=1e-9)
    assert (dep.leaked >= -1e-12).all() and (dep.invisible <= dep.deposited + 1e-12).all()
    assert dep.leaked[np.abs(pdg) == 13].min() > 0  # muons carry most of their energy out
    hits, _ = deposits_to_hits(geo, dep.positions, dep.energies, dep.particle, dep.times, pdg[dep.particle], rng=rng)
    seen = geo.em_scale(np.array(hits.view("cellID")), np.array(hits.view("energy"))).sum()
    expected = dep.energies.sum()
    sigma = geo.sections[0].material.stochastic_term * np.sqrt(expected) * 3  # generous: HCal term is larger
    assert abs(seen - expected) < 5 * sigma
    hits0, _ = deposits_to_hits(geo, dep.positions, dep.energies, dep.particle, dep.times, pdg[dep.particle])
    np.testing.assert_allclose(geo.em_scale(np.array(hits0.view("cellID")), hits0.view("energy")).sum(), expected)


def test_some_pions_shower_like_electrons(geo):
    """The event-by-event pi0 fraction reaches 1: a few percent of pions put > 90% of their energy into an
    electromagnetic shower, which is what makes the PID non-trivial."""
    rng = np.random.default_rng(8)
    n = 4000
    dep = simulate(geo, np.zeros((n, 3)), np.tile([10.0, 0, 0], (n, 1)), np.full(n, 10.0), np.full(n, -211), rng)
    f_em = dep.truth["em_fraction"]
    assert 0.005 < np.mean(f_em > 0.9) < 0.1
    early = dep.truth["start_lambda"] < 0.1
    assert 0.05 < early.mean() < 0.15  # 1 - exp(-0.1)


def test_chain_writes_links_and_cellid_encoding(tmp_path):
    from k4mlinference.algorithms.sim import (
        CaloClusterTruthLinker,
        ParticleGun,
        SimpleCaloClustering,
        SimpleCalorimeterSim,
    )
    from k4mlinference.framework import cpp_algorithm, run
    from k4mlinference.io import Reader

    out = tmp_path / "sim.root"
    digitizer = cpp_algorithm("CaloDigitizer")
    algs = [
        ParticleGun("Gun", PDG=[11, -211], EnergyMin=5.0, EnergyMax=10.0, ParticlesPerEvent=2, Seed=4),
        SimpleCalorimeterSim("Sim", Seed=5),
        digitizer("Digi", Calibration=1.0, Stochastic=0.0, Constant=0.0, Threshold=0.0),
        SimpleCaloClustering("Clustering"),
        CaloClusterTruthLinker("Truth"),
    ]
    run(algs, evt_max=3, output=str(out))
    reader = Reader(str(out))
    meta = reader.get("metadata")[0]
    geo = CalorimeterGeometry.load("toy_calo")
    assert meta.getParameter("SimCalorimeterHits__CellIDEncoding") == geo.encoding
    for frame in reader.get("events"):
        links, mcps = frame.get("CaloClusterMCLinks"), frame.get("MCParticles")
        assert len(links) >= 1
        weights = np.array(links.view("weight"))
        assert weights.sum() == pytest.approx(1.0, rel=1e-5)
        sim_by_cell = {h.getCellID(): h for h in frame.get("SimCalorimeterHits")}
        cluster = frame.get("CaloClusters")[0]
        sections = geo.section_of_cells(np.array([h.getCellID() for h in cluster.getHits()], dtype=np.uint64))
        assert {geo.sections[i].name for i in sections} <= {"ECalBarrel", "ECalEndcap"}  # an EM cluster
        cluster_energy_sim = {}
        for hit in cluster.getHits():
            for c in sim_by_cell[hit.getCellID()].getContributions():
                key = c.getParticle().getObjectID().index
                cluster_energy_sim[key] = cluster_energy_sim.get(key, 0.0) + c.getEnergy()
        total = sum(cluster_energy_sim.values())
        for link in links:
            assert link.getFrom() == frame.get("CaloClusters")[0]
            share = cluster_energy_sim[link.getTo().getObjectID().index] / total
            assert link.getWeight() == pytest.approx(share, rel=1e-4)
        best, _ = edm.best_links(links, 1)
        assert best[0] == max(cluster_energy_sim, key=cluster_energy_sim.get)
        assert len(mcps) == 2
