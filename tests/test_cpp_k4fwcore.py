"""Key4hep C++ algorithms run unchanged: k4FWCore-style .cpp files (tests/cpp_algorithms/) are compiled
once into a cached library and run from a k4FWCore-style options file through k4run, mixed with a
Python algorithm and MLInference in one chain; their outputs are written and read back."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
ALGS = REPO / "tests" / "cpp_algorithms"


def k4run(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "k4run"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "k4mlinference.framework.cli"]
    full_env = dict(os.environ, CI="1", **(env or {}))
    return subprocess.run([*cmd, *args], cwd=cwd, capture_output=True, text=True, env=full_env, timeout=600)


@pytest.fixture(scope="module")
def chain_run(tmp_path_factory):
    wd = tmp_path_factory.mktemp("cppchain")
    out = wd / "chain.root"
    res = k4run("--cpp-source", str(ALGS), str(ALGS / "chain_options.py"), f"--IOSvc.Output={out}", cwd=wd)
    assert res.returncode == 0, res.stdout + res.stderr
    return out, res


def test_every_kind_runs_from_the_options_file(chain_run):
    _, res = chain_run
    order = "Gun -> Filter -> Features -> Model -> Shift -> Score -> Select -> Check"
    assert order in res.stdout  # C++ (Producer, Filter, Transformer, MultiTransformer, Consumer), Python, MLInference
    # info() << ... << endmsg from initialize, every event and finalize, in the framework's format
    assert "Gun                     INFO shooting 3 particles of PDG 13 (muons)" in res.stdout
    assert "event 0: 4 shifted particles, edm4hep::ReconstructedParticleCollection with 4 elements" in res.stdout
    assert "Check                   INFO checked 8 particles in total" in res.stdout
    assert "event 1:" not in res.stdout  # EveryNth stopped odd events


def test_outputs_are_written_and_read_back(chain_run):
    from k4mlinference.io import Reader

    out, _ = chain_run
    reader = Reader(str(out))
    assert reader.getEntries("events") == 2  # events 0 and 2 passed the C++ filter
    frame = reader.read_frame("events", 0)
    gun = frame.get("GunParticles")
    # Producer: properties of several types (int, list of float, double, float, bool, string)
    assert list(gun.view("PDG")) == [13, 13, 13, 22]
    assert list(gun.view("momentum")["z"]) == [10.0, 30.0, 50.0, 0.0]  # Energies * Scale
    assert np.allclose(gun.view("mass")[:3], 0.105) and list(gun.view("charge")[:3]) == [-1.0] * 3
    assert gun[3].getGeneratorStatus() == 2  # set through the standalone handle after push_back
    # Transformer: clone + one-to-many relation back to the input, followed after reading
    shifted = frame.get("ShiftedParticles")
    assert [p.getPDG() for p in shifted] == [1013, 1013, 1013, 1022]
    assert [p.getParents()[0].getPDG() for p in shifted] == [13, 13, 13, 22]
    # MultiTransformer: C++ read the Tensor MLInference made from the Python algorithm's Tensor
    reco = frame.get("RecoParticles")
    assert list(reco.view("energy")) == [5.0, 15.0, 25.0, 0.5]  # |p| * Weight
    assert list(reco.view("momentum")["z"]) == [5.0, 15.0, 25.0, 0.0]  # the model halves p_z
    assert list(frame.get("Summary").vec()) == [4.0, 45.0]  # podio::UserDataCollection<float>
    # runtime-length inputs and outputs (KeyValues): two in, two out
    assert list(frame.get("FastA").view("PDG")) == [13, 13]
    assert list(frame.get("FastB").view("PDG")) == [1013, 1013]
    assert list(frame.get("FastB").view("momentum")["z"]) == [30.0, 50.0]


def test_properties_inputs_and_outputs_come_from_the_constructor(edm):
    from k4mlinference.framework import cpp_algorithm

    gun = cpp_algorithm("GunProducer", ALGS)
    props = gun.properties()
    types = {k: props[k].type_name for k in ("PDG", "Energies", "Scale", "Mass", "Charged", "Label")}
    assert types == {
        "PDG": "int",
        "Energies": "list[float]",
        "Scale": "float",
        "Mass": "float",
        "Charged": "bool",
        "Label": "str",
    }
    assert props["Energies"].default == [10.0, 20.0] and props["Label"].doc == "a name printed at initialize"
    assert props["OutputCollection"].default == "GunParticles"
    assert props["OutputCollection"].collection_type == "edm4hep::MCParticleCollection"
    select = cpp_algorithm("SelectMany").properties()
    assert select["InputCollections"].type_name == "list[str] (input edm4hep::MCParticleCollection)"
    assert select["OutputCollections"].default == ["Selected"]
    assert cpp_algorithm("ScoreParticles").kind == "MultiTransformer"
    assert cpp_algorithm("ShiftPDG").__doc__.startswith("Copies the particles with the PDG shifted")


def test_sources_from_the_environment_and_a_glob(tmp_path):
    res = k4run(
        str(ALGS / "chain_options.py"),
        "--dry-run",
        "--Gun.Label=other",
        cwd=tmp_path,
        env={"K4ML_CPP_SOURCES": f"{ALGS}/Gun*.cpp:{ALGS}/[CP]*.cpp"},
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert 'Gun.Label = "other"' in res.stdout


def test_unknown_api_fails_with_the_compilers_message(tmp_path):
    src = tmp_path / "UsesMissing.cpp"
    src.write_text(
        '#include "k4FWCore/Consumer.h"\n'
        '#include "edm4hep/MCParticleCollection.h"\n'
        "\n"
        "struct UsesMissing final : k4FWCore::Consumer<void(const edm4hep::MCParticleCollection&)> {\n"
        "  UsesMissing(const std::string& name, ISvcLocator* svcLoc)\n"
        '      : Consumer(name, svcLoc, KeyValue("InputCollection", "MCParticles")) {}\n'
        "  void operator()(const edm4hep::MCParticleCollection& in) const override {\n"
        "    for (const auto& p : in) info() << p.getNotAMember() << endmsg;\n"
        "  }\n"
        "};\n"
        "DECLARE_COMPONENT(UsesMissing)\n"
    )
    opts = tmp_path / "opts.py"
    opts.write_text(
        "from Configurables import UsesMissing\nfrom k4FWCore import ApplicationMgr\n"
        "ApplicationMgr(TopAlg=[UsesMissing('U')], EvtSel='NONE', EvtMax=1)\n"
    )
    res = k4run("--cpp-source", str(src), str(opts), cwd=tmp_path)
    assert res.returncode == 1, res.stdout + res.stderr
    assert f"{src}:8" in res.stderr and "getNotAMember" in res.stderr  # file, line and the missing name
    assert "k4run: error: " in res.stderr and "Traceback" not in res.stderr


def test_a_missing_source_is_named(tmp_path):
    res = k4run("--cpp-source", str(tmp_path / "nope"), str(ALGS / "chain_options.py"), cwd=tmp_path)
    assert res.returncode == 1 and "nope" in res.stderr and "no such file" in res.stderr


def test_warm_start_loads_the_cached_library(chain_run, tmp_path):
    """A second run only loads the library: no new build (its time is printed, not asserted)."""
    from k4mlinference.edm import loader

    libs = sorted((loader.cache_root() / "cpp-algorithms").glob("*.so"))
    t0 = time.perf_counter()
    res = k4run("--cpp-source", str(ALGS), str(ALGS / "chain_options.py"), "-n", "1", cwd=tmp_path)
    wall = time.perf_counter() - t0
    assert res.returncode == 0, res.stdout + res.stderr
    assert sorted((loader.cache_root() / "cpp-algorithms").glob("*.so")) == libs
    print(f"k4run with C++ algorithms, one event, warm: {wall:.2f} s")


def test_parallel_workers_load_the_same_sources(chain_run, tmp_path):
    """--ncpus 2: the worker processes get the --cpp-source sources too; the merged file equals the serial one."""
    import uproot

    serial, _ = chain_run
    out = tmp_path / "parallel.root"
    res = k4run(
        "--cpp-source", str(ALGS), str(ALGS / "chain_options.py"), "--ncpus", "2", f"--IOSvc.Output={out}", cwd=tmp_path
    )
    assert res.returncode == 0, res.stdout + res.stderr
    a, b = uproot.open(serial)["events"], uproot.open(out)["events"]
    assert a.num_entries == b.num_entries == 2
    for branch in ("GunParticles/GunParticles.PDG", "RecoParticles/RecoParticles.energy", "FastB/FastB.PDG"):
        assert [x.tolist() for x in a[branch].array(library="np")] == [
            x.tolist() for x in b[branch].array(library="np")
        ]
