"""k4run end to end: the options files in options/ run through the `k4run` command, overrides, errors."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
OPTIONS = REPO / "options"


def k4run_command() -> list[str]:
    exe = Path(sys.executable).parent / "k4run"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "k4mlinference.framework.cli"]


def k4run(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, CI="1")
    res = subprocess.run([*k4run_command(), *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300)
    if check and res.returncode != 0:
        raise AssertionError(f"k4run {' '.join(args)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return res


def events(path: Path) -> dict[str, list[np.ndarray]]:
    """Every branch of the events tree, per event (for event-by-event comparisons)."""
    import uproot

    tree = uproot.open(path)["events"]
    return {k: list(tree[k].array(library="np")) for k in tree.keys() if "/" in k and not k.startswith("GP")}


def assert_same_events(a: Path, b: Path) -> None:
    ea, eb = events(a), events(b)
    assert sorted(ea) == sorted(eb)
    for key in ea:
        assert len(ea[key]) == len(eb[key]), key
        for i, (x, y) in enumerate(zip(ea[key], eb[key])):
            assert np.array_equal(x, y), f"{key} differs in event {i}"


@pytest.fixture(scope="module")
def gun_run(tmp_path_factory):
    """options/gun_digitize.py through k4run: gun -> Python calo sim -> C++ digitizer -> Python clustering."""
    wd = tmp_path_factory.mktemp("k4run")
    res = k4run(str(OPTIONS / "gun_digitize.py"), "-n", "6", cwd=wd)
    return wd, res


def test_gun_digitize_chain_mixes_cpp_and_python(gun_run):
    import uproot

    wd, res = gun_run
    out = wd / "gun_digitize.root"
    assert out.exists()
    assert "EventHeader -> Gun -> CaloSim -> Digitizer -> Clustering" in res.stdout  # data-flow order
    assert "TimingTable" in res.stdout and "Digitizer" in res.stdout
    f = uproot.open(out)
    tree = f["events"]
    assert tree.num_entries == 6
    assert list(tree["EventHeader/EventHeader.eventNumber"].array(library="np").tolist()) == [[i] for i in range(6)]
    hits = tree["CalorimeterHits/CalorimeterHits.energy"].array(library="np")
    clusters = tree["CaloClusters/CaloClusters.energy"].array(library="np")
    for h, c in zip(hits, clusters):
        assert len(h) > 10 and c[0] == pytest.approx(h.sum(), rel=1e-4)
    opts = f["configuration_metadata"]["GPStringValues"].array(library="np")[0][0]
    assert any(str(o).startswith("Digitizer.Calibration = ") for o in opts)


def test_command_line_override_changes_output(gun_run, tmp_path):
    wd, _ = gun_run
    k4run(
        str(OPTIONS / "gun_digitize.py"),
        "-n",
        "6",
        "--Calibration.Digitizer",
        "20",
        "--IOSvc.Output=over.root",
        cwd=tmp_path,
    )
    import uproot

    base = uproot.open(wd / "gun_digitize.root")["events"]
    over = uproot.open(tmp_path / "over.root")["events"]
    sim_b = base["SimCalorimeterHits/SimCalorimeterHits.energy"].array(library="np")
    sim_o = over["SimCalorimeterHits/SimCalorimeterHits.energy"].array(library="np")
    assert all(np.array_equal(a, b) for a, b in zip(sim_b, sim_o))  # upstream unchanged
    eb = sum(float(x.sum()) for x in base["CalorimeterHits/CalorimeterHits.energy"].array(library="np"))
    eo = sum(float(x.sum()) for x in over["CalorimeterHits/CalorimeterHits.energy"].array(library="np"))
    assert eo == pytest.approx(2 * eb, rel=0.05)  # Calibration 10 -> 20


def test_read_transform_reads_the_file(gun_run):
    import uproot

    wd, _ = gun_run
    res = k4run(str(OPTIONS / "read_transform.py"), "--min-energy", "1", "--Redigi.Threshold=0.003", cwd=wd)
    assert "6 events from input gun_digitize.root" in res.stdout
    tree = uproot.open(wd / "read_transform.root")["events"]
    names = {k for k in tree.keys() if "/" not in k and not k.startswith(("GP", "_"))}
    assert names == {"EventHeader", "MCParticles", "RedigiHits", "RedigiClusters"}  # outputCommands applied
    assert all(len(e) == 0 or e.min() >= 0.003 for e in tree["RedigiHits/RedigiHits.energy"].array(library="np"))


def test_list_shows_python_and_cpp_algorithms(tmp_path):
    res = k4run("--list", cwd=tmp_path)
    out = res.stdout
    assert "ParticleGun  [Python Producer]" in out and "CaloDigitizer  [C++ Transformer]" in out
    assert "Calibration" in out and "EnergyMin" in out and "SimpleCalorimeterSim" in out


def test_unknown_property_on_the_command_line(tmp_path):
    res = k4run(str(OPTIONS / "gun_digitize.py"), "--Digitizer.Calibraton=3", cwd=tmp_path, check=False)
    assert res.returncode == 2
    assert "--Digitizer.Calibraton" in res.stderr and "Did you mean '--Digitizer.Calibration'" in res.stderr


def test_failing_algorithm_names_itself_and_the_event(tmp_path):
    opts = tmp_path / "fail.py"
    opts.write_text(
        textwrap.dedent(
            """
            from Configurables import ParticleGun
            from k4FWCore import ApplicationMgr
            from k4mlinference.framework import Consumer, Input

            class Boom(Consumer):
                InputCollection = Input("MCParticles", type="edm4hep::MCParticleCollection")

                def __call__(self, mcps):
                    if self.event_number == 3:
                        raise ValueError("bad particle")

            ApplicationMgr(TopAlg=[ParticleGun("Gun"), Boom("Boom")], EvtMax=5)
            """
        )
    )
    res = k4run(str(opts), cwd=tmp_path, check=False)
    assert res.returncode == 1
    assert "Boom/Boom failed in event 3: ValueError: bad particle" in res.stderr
