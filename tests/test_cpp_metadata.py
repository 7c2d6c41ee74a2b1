"""Run metadata from C++ algorithms (k4FWCore/MetadataUtils.h) and ParticleID metadata
(edm4hep/utils/ParticleIDUtils.h): our own k4FWCore-style algorithms
(tests/cpp_algorithms/k4fwcore_api/pid_metadata/) put a ParticleIDMeta per PID collection and plain
parameters in one k4run, read them back in the same run and, in a second k4run, from the written file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ALGS = REPO / "tests" / "cpp_algorithms" / "k4fwcore_api" / "pid_metadata"


def k4run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "k4run"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "k4mlinference.framework.cli"]
    env = dict(os.environ, CI="1")
    return subprocess.run([*cmd, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


def murmur3_32(data: bytes) -> int:
    """MurmurHash3 (x86, 32 bit, seed 0) as a signed int: EDM4hep's algorithm type of a PID algorithm name."""
    mask = 0xFFFFFFFF
    h, n = 0, len(data)

    def rotl(x: int, r: int) -> int:
        return ((x << r) | (x >> (32 - r))) & mask

    def mix(k: int) -> int:
        return (rotl((k * 0xCC9E2D51) & mask, 15) * 0x1B873593) & mask

    for i in range(0, n - n % 4, 4):
        h = (rotl(h ^ mix(int.from_bytes(data[i : i + 4], "little")), 13) * 5 + 0xE6546B64) & mask
    if n % 4:
        h ^= mix(int.from_bytes(data[n - n % 4 :], "little"))
    h ^= n
    h = ((h ^ (h >> 16)) * 0x85EBCA6B) & mask
    h = ((h ^ (h >> 13)) * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h - (1 << 32) if h & 0x80000000 else h


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    wd = tmp_path_factory.mktemp("pid_metadata")
    res = k4run("--cpp-source", str(ALGS), str(ALGS / "options_pid_write.py"), cwd=wd)
    assert res.returncode == 0, res.stdout + res.stderr
    return wd, res


def test_murmur_hash_reference_values():
    assert murmur3_32(b"") == 0
    assert murmur3_32(b"hello") == 0x248BFA47
    assert murmur3_32(b"The quick brown fox jumps over the lazy dog") == 0x2E4FF723


def test_metadata_put_and_read_in_the_same_run(written):
    _, res = written
    dedx, rich = murmur3_32(b"dEdx"), murmur3_32(b"RICH")
    assert f'Tag2                    INFO RICH (type {rich}) with parameters ["pion", "kaon", "proton"]' in res.stdout
    assert f'Check                   INFO CandidatePIDs_1: dEdx (type {dedx}) with parameters ["chi2"]' in res.stdout
    # plain parameters put by another algorithm's initialize, and the options' putMetadata
    line = "Check                   INFO candidates 3 cut 0.25 momentum 1.5 maker MakeCandidates windows [0.5, 2.5]"
    assert line + " label pid-test" in res.stdout
    assert res.stdout.count("Check                   INFO checked 6 ParticleIDs of 3 candidates") == 3


def test_input_metadata_goes_on_to_the_output(written):
    """As k4FWCore's MetadataSvc: a run over a file writes the input's metadata frame on with its own output."""
    wd, _ = written
    res = k4run("--cpp-source", str(ALGS), str(ALGS / "options_pid_read.py"), "--IOSvc.Output=copy.root", cwd=wd)
    assert res.returncode == 0, res.stdout + res.stderr
    from k4mlinference.io import Reader

    meta = Reader(str(wd / "copy.root")).get("metadata")[0]
    assert list(meta.getParameter("CandidatePIDs_2__ParameterNames")) == ["pion", "kaon", "proton"]
    assert meta.getParameter("CandidatePIDs_2__AlgoName") == "RICH"


def test_written_metadata_frame(written):
    import numpy as np
    import uproot

    from k4mlinference.io import Reader

    wd, _ = written
    params = Reader(str(wd / "pid_metadata.root")).get("metadata")[0].parameters
    # EDM4hep's PIDHandler names: <collection>__AlgoName, __AlgoType, __ParameterNames
    assert params["CandidatePIDs_1__AlgoName"] == "dEdx"
    assert params["CandidatePIDs_1__AlgoType"] == murmur3_32(b"dEdx")
    assert params["CandidatePIDs_1__ParameterNames"] == "chi2"  # one-element vectors read back as scalars
    assert params["CandidatePIDs_2__AlgoName"] == "RICH"
    assert params["CandidatePIDs_2__AlgoType"] == murmur3_32(b"RICH")
    assert params["CandidatePIDs_2__ParameterNames"] == ["pion", "kaon", "proton"]
    assert params["CandidatesPerEvent"] == 3
    assert params["CandidateCodes"] == [100, 101]
    assert params["CandidateMaker"] == "MakeCandidates"
    assert params["CandidateWindows"] == [0.5, 2.5]
    assert params["RunLabel"] == "pid-test"
    # types as C++ put them: float stays float, double double
    assert isinstance(params["CandidateMassCut"], np.float32) and params["CandidateMassCut"] == 0.25
    tree = uproot.open(str(wd / "pid_metadata.root"))["metadata"]
    assert list(tree["GPFloatKeys"].array(library="np")[0]) == ["CandidateMassCut"]
    assert sorted(tree["GPDoubleKeys"].array(library="np")[0]) == ["CandidateMomentumCut", "CandidateWindows"]
    strings = dict(zip(tree["GPStringKeys"].array(library="np")[0], tree["GPStringValues"].array(library="np")[0]))
    assert list(strings["CandidatePIDs_2__ParameterNames"]) == ["pion", "kaon", "proton"]
    # the ParticleIDs carry the algorithm type of their metadata
    events = Reader(str(wd / "pid_metadata.root")).get("events")
    assert {p.getAlgorithmType() for p in events[0].get("CandidatePIDs_2")} == {murmur3_32(b"RICH")}


def test_metadata_read_from_the_input_file(written):
    wd, _ = written
    res = k4run("--cpp-source", str(ALGS), str(ALGS / "options_pid_read.py"), cwd=wd)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "3 events from input pid_metadata.root" in res.stdout
    assert "Check                   INFO CandidatePIDs_2: RICH" in res.stdout
    assert "maker MakeCandidates windows [0.5, 2.5] label pid-test" in res.stdout
    assert res.stdout.count("Check                   INFO checked 6 ParticleIDs of 3 candidates") == 3


def test_missing_pid_metadata_fails_initialize(written):
    wd, _ = written
    opts = wd / "missing.py"
    opts.write_text(
        (ALGS / "options_pid_read.py")
        .read_text()
        .replace('PIDs1=["CandidatePIDs_1"]', 'PIDs1=["CandidatePIDs_2"]')
        .replace('PIDs2=["CandidatePIDs_2"]', 'PIDs2=["Candidates"]')
    )
    res = k4run("--cpp-source", str(ALGS), str(opts), cwd=wd)
    assert res.returncode != 0
    assert "no ParticleID metadata for Candidates" in res.stdout + res.stderr


def test_metadata_survives_parallel_merge(tmp_path):
    res = k4run("--cpp-source", str(ALGS), str(ALGS / "options_pid_write.py"), "--ncpus", "2", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    from k4mlinference.io import Reader

    params = Reader(str(tmp_path / "pid_metadata.root")).get("metadata")[0].parameters
    assert params["CandidatePIDs_2__ParameterNames"] == ["pion", "kaon", "proton"]
    assert params["CandidatePIDs_1__AlgoType"] == murmur3_32(b"dEdx")
