"""`k4run options/fastsim.py`: the whole chain on fast-simulated showers, its hits and contributions read back with
uproot; the shipped model's sidecar fits the shipped model."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def k4run() -> list[str]:
    exe = shutil.which("k4run", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "k4mlinference.framework.cli"]


def test_k4run_fastsim_options_hits_and_contributions_read_back(tmp_path):
    out = tmp_path / "fastsim.root"
    res = subprocess.run(
        [*k4run(), str(REPO / "options" / "fastsim.py"), "-n", "40", "--IOSvc.Output", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    uproot = pytest.importorskip("uproot")
    events = uproot.open(out)["events"]
    assert events.num_entries == 40
    hits = events.arrays(
        ["SimCalorimeterHits.energy", "SimCalorimeterHits.contributions_begin", "SimCalorimeterHits.contributions_end"],
        library="np",
    )
    contribs = events.arrays(["SimCaloHitContributions.energy"], library="np")
    link = events.arrays(["_SimCaloHitContributions_particle.index"], library="np")
    mc_pdg = events["MCParticles/MCParticles.PDG"].array(library="np")
    n_with_hits = 0
    for i in range(40):
        e_hits = hits["SimCalorimeterHits.energy"][i]
        begin, end = hits["SimCalorimeterHits.contributions_begin"][i], hits["SimCalorimeterHits.contributions_end"][i]
        e_contrib = contribs["SimCaloHitContributions.energy"][i]
        particle = link["_SimCaloHitContributions_particle.index"][i]
        if len(e_hits) == 0:
            continue
        n_with_hits += 1
        # each hit is the sum of its contiguous contributions, each linked to an MCParticle of the event
        sums = np.add.reduceat(e_contrib, begin) if len(begin) else np.zeros(0)
        np.testing.assert_allclose(sums, e_hits, rtol=1e-5)
        assert (end > begin).all() and end[-1] == len(e_contrib)
        assert ((particle >= 0) & (particle < len(mc_pdg[i]))).all()
    assert n_with_hits >= 30
    # the chain ran to the end: two ParticleIDs (pion, electron) per reconstructed particle
    n_particles = sum(len(x) for x in events["CaloPIDParticles/CaloPIDParticles.energy"].array(library="np"))
    pid_pdg = np.concatenate(list(events["CaloPIDs/CaloPIDs.PDG"].array(library="np")))
    assert n_particles >= 30 and len(pid_pdg) == 2 * n_particles
    assert sorted(set(pid_pdg.tolist())) == [11, 211]


def test_shipped_model_sidecar_fits_the_model():
    from k4mlinference.algorithms.fastsim import load_fastsim_sidecar
    from k4mlinference.algorithms.fastsim.algorithm import DEFAULT_MODEL
    from k4mlinference.inference import load_model

    spec = load_fastsim_sidecar(DEFAULT_MODEL.with_suffix(".json"))
    model = load_model(str(DEFAULT_MODEL), sidecar=False)
    assert spec.check_model(model) == "output"
    assert model.inputs[0].shape[0] != 1  # our own model: a dynamic batch
    feeds = spec.build_inputs(
        np.array([10.0, 50.0]),
        np.zeros(2),
        np.array([90.0, 70.0]),
        ["ECalBarrel", "ECalEndcap"],
        np.random.default_rng(1),
    )
    out = model.run(feeds)["output"]
    voxels = spec.voxel_energies(out, np.array([10.0, 50.0]))
    assert voxels.shape == (2, spec.mesh.n_r, spec.mesh.n_phi, spec.mesh.n_z)
    # deposited energy in the mesh: most of the particle's energy (25 X0 deep, 3 Moliere radii wide)
    assert ((voxels.sum(axis=(1, 2, 3)) / [10.0, 50.0]) > 0.8).all()
