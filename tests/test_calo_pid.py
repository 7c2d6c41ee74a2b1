"""The calorimeter-PID use case: Pre-ML on a hand-built cluster (both feature sets), Post-ML on a hand-built
Tensor, an EICrecon-layout ONNX model run in the chain by configuration only, metrics, and the demo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from k4mlinference import edm
from k4mlinference.algorithms.pid import (
    CLASS_PDG,
    EICRECON_FEATURES,
    K4ML_FEATURES,
    CaloPIDFeatures,
    CaloPIDToParticleID,
)
from k4mlinference.algorithms.pid.metrics import pion_rejection
from k4mlinference.detector import CalorimeterGeometry
from k4mlinference.edm import tensor

GEO = CalorimeterGeometry.load("toy_calo")
ECAL, HCAL = GEO.sections[0], GEO.sections[2]
LINKS = "edm4hep::ClusterMCParticleLinkCollection"


def hand_built_event(pdg: int = 11, p: float = 10.0):
    """One cluster of four hits (three in the EM barrel along x, one in the hadronic barrel), linked to a
    10 GeV particle with weight 0.9 (and to a second particle with 0.1)."""
    positions = np.array(
        [[1504.0, 0.0, 0.0], [1520.0, 0.0, 0.0], [1600.0, 30.0, 0.0], [1800.0, 0.0, 0.0]], dtype=np.float64
    )
    visible = np.array([0.2, 0.5, 0.1, 0.03])  # GeV seen in the active layers
    cells, _ = GEO.locate(positions)
    mcps = edm.build_collection(
        "edm4hep::MCParticleCollection",
        PDG=np.array([pdg, 22]),
        momentum=np.array([[p, 0.0, 0.0], [1.0, 0.0, 0.0]]),
    )
    shapes = np.arange(1.0, 8.0)[None, :]
    clusters, hits = edm.build_one_to_many(
        "edm4hep::ClusterCollection",
        "edm4hep::CalorimeterHitCollection",
        [4],
        {"energy": [9.0], "position": [[1530.0, 10.0, 20.0]], "shapeParameters": shapes},
        {"cellID": cells, "energy": visible, "position": GEO.cell_centres(cells)},
        relation="hits",
    )
    links = edm.build_collection(LINKS, 2, weight=np.array([0.1, 0.9]))
    edm.set_one_to_one(links, "from", np.array([0, 0]), clusters)
    edm.set_one_to_one(links, "to", np.array([1, 0]), mcps)
    frame = edm.Frame()
    for coll, name in [(mcps, "MCParticles"), (hits, "CalorimeterHits"), (clusters, "CaloClusters")]:
        frame.put(coll, name)
    frame.put(links, "CaloClusterMCLinks")
    return frame, visible, cells


def call_features(frame, **props):
    props.setdefault("FeatureSet", "k4ml")  # components are configured by name: give every set its own
    alg = CaloPIDFeatures(f"PIDFeatures_{props['FeatureSet']}", **props)
    alg.initialize()
    feats, targets = alg(
        frame.get("CaloClusters"),
        frame.get("CalorimeterHits"),
        frame.get("CaloClusterMCLinks"),
        frame.get("MCParticles"),
    )
    return tensor.as_array(feats), tensor.as_array(targets)


def test_pre_ml_eicrecon_layout_on_a_hand_built_cluster():
    frame, _, _ = hand_built_event(pdg=-211)
    x, y = call_features(frame, FeatureSet="eicrecon")
    assert x.shape == (1, 11) == (1, len(EICRECON_FEATURES)) and x.dtype == np.float32
    theta, phi = np.arctan2(np.hypot(1530.0, 10.0), 20.0), np.arctan2(10.0, 1530.0)
    np.testing.assert_allclose(x[0], [10.0, 0.9, theta, phi, 1, 2, 3, 4, 5, 6, 7], rtol=1e-6)
    assert y.tolist() == [[1, 0]]  # EICrecon's targets: (is pion, is electron) from the best link


def test_pre_ml_k4ml_features_on_a_hand_built_cluster():
    frame, visible, cells = hand_built_event(pdg=11)
    x, y = call_features(frame)
    f = dict(zip(K4ML_FEATURES, x[0].astype(np.float64)))
    e = visible / np.where(np.arange(4) < 3, ECAL.material.sampling_fraction, HCAL.material.sampling_fraction)
    assert y.tolist() == [[0, 1]]
    assert f["log_energy"] == pytest.approx(np.log(9.0), rel=1e-6)
    assert f["energy_over_momentum"] == pytest.approx(0.9, rel=1e-6)
    layers = GEO.coder.get(cells, "layer")[:3]
    depth = (layers + 0.5) * ECAL.layer_thickness / ECAL.material.X0  # only EM-calorimeter hits count
    assert depth.tolist() == [0.5, 2.5, 12.5]
    assert f["start_fraction"] == pytest.approx(e[0] / 9.0, rel=1e-5)
    assert f["front_fraction"] == pytest.approx(e[:2].sum() / 9.0, rel=1e-5)
    assert f["back_fraction"] == 0.0
    mean = np.average(depth, weights=e[:3])
    tmax = np.log(e[:3].sum() / ECAL.material.critical_energy)
    assert f["mean_depth_minus_tmax"] == pytest.approx(mean - tmax, rel=1e-5)
    assert f["rms_depth"] == pytest.approx(np.sqrt(np.average((depth - mean) ** 2, weights=e[:3])), rel=1e-5)
    assert f["max_cell_fraction"] == pytest.approx(e.max() / 9.0, rel=1e-5)
    assert f["log_cells"] == pytest.approx(np.log(5.0), rel=1e-6)
    assert 0.0 < f["core_fraction"] <= 1.0


def test_pre_ml_rejects_an_unknown_feature_set():
    with pytest.raises(ValueError, match="FeatureSet: 'weaver'"):
        CaloPIDFeatures("PIDFeatures", FeatureSet="weaver").initialize()


def test_post_ml_on_a_hand_built_tensor():
    frame, _, _ = hand_built_event()
    clusters = frame.get("CaloClusters")
    probs = tensor.from_array(np.array([[0.3, 0.7]], np.float32))
    parts, pids = CaloPIDToParticleID("PIDPost", ClassPDG=[211, 11])(clusters, probs)
    frame.put(parts, "CaloPIDParticles")
    frame.put(pids, "CaloPIDs")
    assert list(parts.view("PDG")) == [11] and parts[0].getClusters()[0].getEnergy() == pytest.approx(9.0)
    assert parts[0].getEnergy() == pytest.approx(9.0) and parts[0].getGoodnessOfPID() == pytest.approx(0.7)
    assert [(p.getPDG(), round(p.getLikelihood(), 3)) for p in pids] == [(211, 0.3), (11, 0.7)]
    assert pids[0].getParticle() == parts[0] and pids[1].getParticle() == parts[0]
    with pytest.raises(ValueError, match=r"PIDPost: probabilities have shape \(1, 3\), expected \(1, 2\)"):
        CaloPIDToParticleID("PIDPost")(clusters, tensor.from_array(np.ones((1, 3), np.float32)))


def eicrecon_layout_onnx(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A small ONNX model with EICrecon's contract: float [n, 11] -> softmax probabilities [n, 2]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = (rng.normal(size=(11, 2)) * 0.1).astype(np.float32)
    b = np.array([0.1, -0.1], np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", ["features", "W", "B"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
        ],
        "eicrecon_calo_pid",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 11])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2])],
        initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return w, b


def test_eicrecon_model_runs_in_the_chain_by_configuration(tmp_path: Path):
    from k4mlinference.algorithms.sim import (
        CaloClusterTruthLinker,
        ParticleGun,
        SimpleCaloClustering,
        SimpleCalorimeterSim,
    )
    from k4mlinference.framework import cpp_algorithm, run
    from k4mlinference.framework.registry import load
    from k4mlinference.io import Reader

    model = tmp_path / "eicrecon_pid.onnx"
    w, b = eicrecon_layout_onnx(model)
    digitizer = cpp_algorithm("CaloDigitizer")
    algs = [
        ParticleGun("Gun", PDG=[11, -211], EnergyMin=2.0, EnergyMax=20.0, Seed=9),
        SimpleCalorimeterSim("Sim", Seed=10),
        digitizer("Digi", Calibration=1.0, Stochastic=0.0, Constant=0.0, Threshold=0.00006),
        SimpleCaloClustering("Clustering"),
        CaloClusterTruthLinker("Truth"),
        CaloPIDFeatures("PIDFeatures", FeatureSet="eicrecon"),
        load("MLInference")(  # by name, as an options file gets it
            "PIDInference",
            ModelPath=str(model),
            InputCollections=["CaloPIDFeatures"],
            OutputCollections=["CaloPIDProbabilities"],
            BatchSize=4,
        ),
        CaloPIDToParticleID("PIDPost", ClassPDG=[211, 11]),
    ]
    out = tmp_path / "reco.root"
    run(algs, evt_max=6, output=str(out))
    n_clusters = 0
    for frame in Reader(str(out)).get("events"):
        clusters, pids = frame.get("CaloClusters"), frame.get("CaloPIDs")
        x = tensor.as_array(frame.get("CaloPIDFeatures"))
        assert x.shape == (len(clusters), 11)
        logits = x.astype(np.float64) @ w + b
        expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        assert len(pids) == 2 * len(clusters)
        for k, cluster in enumerate(clusters):
            own = [p for p in pids if p.getParticle().getClusters()[0] == cluster]
            assert [p.getPDG() for p in own] == [211, 11]
            np.testing.assert_allclose([p.getLikelihood() for p in own], expected[k], rtol=1e-5)
        n_clusters += len(clusters)
    assert n_clusters == 6


def test_pion_rejection_and_its_uncertainty():
    rng = np.random.default_rng(2)
    score = np.concatenate([rng.uniform(0.5, 1.0, 20000), rng.uniform(0.0, 0.52, 20000)])
    is_e = np.arange(40000) < 20000
    r = pion_rejection(score, is_e)
    # the cut at 95% electron efficiency is 0.525; pions above it: (0.52 - 0.525) < 0 -> none; move the pions up
    assert r.threshold == pytest.approx(0.525, abs=0.002) and r.electrons == 20000
    score[~is_e] = rng.uniform(0.0, 0.535, 20000)
    r = pion_rejection(score, is_e)
    eff = (0.535 - r.threshold) / 0.535
    assert r.pion_efficiency == pytest.approx(eff, rel=0.25)
    assert np.isfinite(r.rejection) and 0 < r.uncertainty < r.rejection
    assert CLASS_PDG == [211, 11]


def test_demo_chain_end_to_end(tmp_path: Path):
    """`make demo`'s driver, small: data with k4run, training, inference chain, metrics, ROC."""
    cmd = [sys.executable, "-m", "k4mlinference.demo", "--workdir", str(tmp_path)]
    res = subprocess.run(
        [*cmd, "--train-events", "400", "--test-events", "300", "--epochs", "10"], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    summary = json.loads((tmp_path / "demo_summary.json").read_text())["inference"]
    assert summary["clusters"] > 250 and summary["electrons"] > 100 and summary["pions"] > 100
    assert summary["pion_rejection_at_95pct_electron_efficiency"] > 5  # pions are rejected (inf if none passes)
    assert "pion rejection at 95% electron efficiency" in res.stdout
    assert (tmp_path / "calo_pid_roc.png").stat().st_size > 1000
    assert (tmp_path / "calo_pid.json").exists() and (tmp_path / "calo_pid_train.h5").exists()
