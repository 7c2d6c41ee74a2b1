"""The calorimeter-PID use-case pieces on top of the shared layer (Pre-ML, Post-ML, the demo chain)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from k4mlinference.algorithms.pid import CLASS_PDG, FEATURE_NAMES, CaloPIDFeatures, CaloPIDToParticleID
from k4mlinference.edm import tensor


def _event(edm, pdg: int = 11):
    from k4mlinference.algorithms.sim.calo import encode

    mcps = edm.edm4hep.MCParticleCollection()
    mcps.create(PDG=pdg, momentum=(5.0, 0.0, 0.0))
    hits = edm.edm4hep.CalorimeterHitCollection()
    for layer, e in [(0, 0.5), (1, 1.0), (2, 0.5), (20, 0.1)]:
        hits.create(
            cellID=int(encode(np.array([layer]), np.array([0]), np.array([0]))[0]),
            energy=e,
            position=(1500.0 + 8 * layer, 1.0 * layer, 0.0),
        )
    clusters = edm.edm4hep.ClusterCollection()
    frame = edm.Frame()
    frame.put(mcps, "MCParticles")
    frame.put(hits, "CalorimeterHits")
    clusters.create(energy=2.1, position=(1510.0, 0.0, 0.0), hits=[hits[i] for i in range(len(hits))])
    frame.put(clusters, "CaloClusters")
    return frame


def test_pre_ml_features_and_truth(edm):
    frame = _event(edm, pdg=-211)
    alg = CaloPIDFeatures("PIDFeatures")
    feats, truth = alg(frame.get("CaloClusters"), frame.get("CalorimeterHits"), frame.get("MCParticles"))
    x = tensor.as_array(feats)
    assert x.shape == (1, len(FEATURE_NAMES)) and x.dtype == np.float32
    f = dict(zip(FEATURE_NAMES, x[0]))
    assert f["log_energy"] == pytest.approx(np.log(2.1), rel=1e-5)
    assert f["front_fraction"] == pytest.approx(2.0 / 2.1, rel=1e-5)
    assert f["back_fraction"] == pytest.approx(0.1 / 2.1, rel=1e-5)
    assert tensor.as_array(truth).tolist() == [CLASS_PDG.index(211)]


def test_post_ml_particles_and_pids(edm):
    frame = _event(edm)
    probs = tensor.from_array(np.array([[0.8, 0.2]], np.float32))
    parts, pids = CaloPIDToParticleID("PIDPost")(frame.get("CaloClusters"), probs)
    frame.put(parts, "CaloPIDParticles")
    frame.put(pids, "CaloPIDs")
    assert list(parts.view("PDG")) == [11] and parts[0].getClusters()[0].getEnergy() == pytest.approx(2.1)
    assert [(p.getPDG(), round(p.getLikelihood(), 3)) for p in pids] == [(11, 0.8), (211, 0.2)]
    assert pids[1].getParticle() == parts[0]
    with pytest.raises(ValueError, match=r"PIDPost: probabilities have shape \(1, 3\), expected \(1, 2\)"):
        CaloPIDToParticleID("PIDPost")(frame.get("CaloClusters"), tensor.from_array(np.ones((1, 3), np.float32)))


def test_demo_chain_end_to_end(tmp_path: Path):
    """`make demo`'s driver, small: data with k4run, training, inference chain, evaluation, plot."""
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "k4mlinference.demo",
            "--workdir",
            str(tmp_path),
            "--train-events",
            "400",
            "--test-events",
            "300",
            "--epochs",
            "30",
        ],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    summary = json.loads((tmp_path / "demo_summary.json").read_text())
    assert summary["inference"]["events_with_a_cluster"] > 250
    assert summary["inference"]["accuracy"] > 0.85  # e/pi separate well on shower shapes
    assert (tmp_path / "calo_pid_probabilities.png").stat().st_size > 1000
    assert (tmp_path / "calo_pid.json").exists() and (tmp_path / "calo_pid_train.h5").exists()
