"""k4FWCore's example styles run unchanged: our own algorithms (tests/cpp_algorithms/k4fwcore_api/) written
the way k4FWCore's test algorithms are (GaudiAlg/ headers, an EventContext first argument, runtime-length
inputs and outputs as maps keyed by name, Gaudi::Accumulators counters, edm4hep/Constants.h, fmt::format)
and an options file in k4FWCore's style (IOSvc's lowercase `output`, a Writer in TopAlg, single collections
given as one-element lists), run through k4run; the written file is read back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from k4mlinference.framework.component import CONFIGURED
from k4mlinference.framework.properties import PropertyError

REPO = Path(__file__).resolve().parents[1]
ALGS = REPO / "tests" / "cpp_algorithms" / "k4fwcore_api"
OPTIONS = ALGS / "options_k4fwcore_style.py"


def k4run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "k4run"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "k4mlinference.framework.cli"]
    env = dict(os.environ, CI="1")
    return subprocess.run([*cmd, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(autouse=True)
def _clean_registry():
    CONFIGURED.clear()
    yield
    CONFIGURED.clear()


@pytest.fixture(scope="module")
def styled_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    wd = tmp_path_factory.mktemp("k4fwcore_style")
    res = k4run("--cpp-source", str(ALGS), str(OPTIONS), cwd=wd)
    assert res.returncode == 0, res.stdout + res.stderr
    return wd / "k4fwcore_style.root", res  # the name the options file gives `iosvc.output`


def test_options_in_k4fwcore_style_run(styled_run):
    _, res = styled_run
    # the Writer is accepted in TopAlg and is not an algorithm of the chain (the event loop writes)
    assert "algorithms: Pions -> Kaons -> Keep -> StampPions -> StampKaons -> Negate -> Count\n" in res.stdout
    assert "Pions                   INFO cell IDs would be described by the 'CellIDEncoding' parameter" in res.stdout
    assert "Kaons                   INFO 3 particles of PDG +321 per event, masses from 1.0 GeV" in res.stdout  # fmt
    # the EventContext argument carries the event number: the filter kept events 0 and 2
    assert "Count                   INFO event 2: AntiPions has 2 particles" in res.stdout
    assert "event 1:" not in res.stdout
    assert "wrote 2 to k4fwcore_style.root" in res.stdout


def test_counters_are_printed_at_finalize(styled_run):
    _, res = styled_run
    lines = res.stdout.splitlines()
    assert 'Pions                   INFO  | "Particles made" | entries 8' in lines  # m_made += n
    assert 'Keep                    INFO  | "Seen" | entries 4' in lines  # ++m_seen
    assert 'Keep                    INFO  | "Kept" | entries 4 | passed 2 | efficiency 0.5' in lines
    assert 'Keep                    INFO  | "Particles per event" | entries 4 | sum 8 | mean 2' in lines
    # masses 1, 2, 3 (kaons) and 1, 2 (pions) in each of the two kept events
    assert (
        'Count                   INFO  | "Mass" | entries 10 | sum 18 | mean 1.8 | rms 0.748331 | min 1 | max 3'
        in lines
    )
    # the counters come after the last event's messages, once per algorithm
    assert lines.index("Count                   INFO Number of counters : 2") > lines.index(
        "Count                   INFO event 2: AntiPions has 2 particles"
    )


def test_outputs_are_written_and_read_back(styled_run):
    from k4mlinference.io import Reader

    out, _ = styled_run
    reader = Reader(str(out))
    assert reader.getEntries("events") == 2
    for entry, event in ((0, 0), (1, 2)):
        frame = reader.read_frame("events", entry)
        # one-element lists named the single collections
        assert [p.getPDG() for p in frame.get("Pions")] == [211, 211]
        assert [p.getPDG() for p in frame.get("StampedKaons")] == [321] * 3
        # EventContext: ctx.evt() written into the generator status
        assert [p.getGeneratorStatus() for p in frame.get("StampedPions")] == [event, event]
        # map output: the map's (sorted) keys StampedKaons, StampedPions go to AntiKaons, AntiPions
        assert [p.getPDG() for p in frame.get("AntiKaons")] == [-321] * 3
        assert [p.getPDG() for p in frame.get("AntiPions")] == [-211] * 2
        assert [p.getMass() for p in frame.get("AntiPions")] == [1.0, 2.0]
        assert [p.getGeneratorStatus() for p in frame.get("AntiKaons")] == [event] * 3


def test_a_longer_list_for_one_collection_is_refused(styled_run):
    """A one-element list is accepted for a single collection; a longer one names the property."""
    from k4mlinference.framework import cpp_algorithm

    stamp = cpp_algorithm("StampEvent", ALGS)
    assert stamp("Ok", InputCollection=["A"]).get_property("InputCollection") == "A"
    with pytest.raises(PropertyError, match=r"StampEvent/Bad: property 'InputCollection' names one collection"):
        stamp("Bad", InputCollection=["A", "B"])
    # the EventContext argument is no data slot
    assert [h.name for h in stamp("Slots").input_handles()] == ["InputCollection"]


def test_a_map_output_of_the_wrong_size_is_reported(styled_run, tmp_path):
    opts = tmp_path / "wrong_size.py"
    opts.write_text(
        "from Configurables import NegateEach, SeedParticles\n"
        "from k4FWCore import ApplicationMgr\n"
        "a = SeedParticles('A', OutputCollection='A')\n"
        "b = SeedParticles('B', OutputCollection='B')\n"
        "n = NegateEach('N', InputCollections=['A', 'B'], OutputCollections=['Only'])\n"
        "ApplicationMgr(TopAlg=[a, b, n], EvtSel='NONE', EvtMax=1)\n"
    )
    res = k4run("--cpp-source", str(ALGS), str(opts), cwd=tmp_path)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "output 'OutputCollections': the returned map holds 2 collections but the options name 1" in (
        res.stdout + res.stderr
    )


def test_iosvc_takes_lowercase_input_and_output():
    """k4FWCore's IOSvc wrapper has `input`/`output`; they set Input/Output (a plain attribute would be lost)."""
    from k4mlinference.framework.shims.k4FWCore import IOSvc

    io = IOSvc("IOSvc", input="in.root")
    io.output = "out.root"
    assert io.get_property("Input") == ["in.root"] and io.get_property("Output") == "out.root"
    assert io.input == ["in.root"] and io.output == "out.root"


def test_a_reader_in_topalg_reads_iosvc_input(styled_run, tmp_path):
    """k4FWCore's `Reader` in TopAlg with `iosvc.input`: the file written above is read back by C++ algorithms."""
    out, _ = styled_run
    opts = tmp_path / "read_back.py"
    opts.write_text(
        "from Configurables import KeepEveryNth, Reader\n"
        "from k4FWCore import ApplicationMgr, IOSvc\n"
        "iosvc = IOSvc('IOSvc')\n"
        f"iosvc.input = {str(out)!r}\n"
        "keep = KeepEveryNth('Keep', InputCollection=['AntiKaons'], Every=1)\n"
        "ApplicationMgr(TopAlg=[Reader('Reader'), keep], EvtSel='NONE', EvtMax=-1)\n"
    )
    res = k4run("--cpp-source", str(ALGS), str(opts), cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert 'Keep                    INFO  | "Kept" | entries 2 | passed 2 | efficiency 1' in lines
    assert 'Keep                    INFO  | "Particles per event" | entries 2 | sum 6 | mean 3' in lines
