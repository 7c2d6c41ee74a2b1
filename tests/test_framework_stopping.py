"""Stopping a run and what it leaves on disk (the signal cases end to end: benchmarks/soak_signals.py)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest


def _gun():
    from k4mlinference.algorithms.sim.generators import ParticleGun

    return ParticleGun("StopGun", PDG=[11], ParticlesPerEvent=1)


def test_stop_request_keeps_completed_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from k4mlinference.framework import eventloop
    from k4mlinference.framework.eventloop import STOP, EventLoop
    from k4mlinference.io import Reader

    # a stop request takes effect at the end of the current block of events: one-event blocks here
    monkeypatch.setattr(eventloop, "BLOCK_EVENTS", 1)

    out = tmp_path / "out.root"

    def stop_after_3(done: int) -> None:
        if done >= 3:
            STOP.request(signal.SIGTERM)

    STOP.clear()
    try:
        result = EventLoop([_gun()], output=str(out), evt_max=100, progress=stop_after_3).run()
    finally:
        STOP.clear()
    assert result.stopped_by == signal.SIGTERM and result.events == 3 and result.written == 3
    with Reader(str(out)) as r:
        assert r.getEntries("events") == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.root"]


def test_stop_request_without_keeping_output(tmp_path: Path) -> None:
    from k4mlinference.framework.eventloop import STOP, EventLoop

    out = tmp_path / "out.root"
    STOP.clear()
    STOP.keep_output = False
    try:
        result = EventLoop([_gun()], output=str(out), evt_max=100, progress=lambda n: STOP.request(2)).run()
    finally:
        STOP.clear()
        STOP.keep_output = True
    assert result.stopped_by == 2 and result.written == 0 and list(tmp_path.iterdir()) == []


def test_zero_events_give_a_readable_file(tmp_path: Path) -> None:
    from k4mlinference.framework import run
    from k4mlinference.io import Reader

    out = tmp_path / "zero.root"
    run([_gun()], evt_max=0, output=str(out))
    with Reader(str(out)) as r:
        assert "events" in r.categories and len(r.get("events")) == 0


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path: Path) -> None:
    from k4mlinference.io import Writer

    out = tmp_path / "out.root"
    dead = tmp_path / ".out.root.2147480000-deadbeef.tmp"  # no such pid
    alive = tmp_path / f".out.root.{os.getppid()}-cafecafe.tmp"  # a live process' temporary: kept
    other = tmp_path / ".other.root.2147480000-deadbeef.tmp"  # another output's: kept
    for p in (dead, alive, other):
        p.write_bytes(b"x")
    with pytest.warns(UserWarning, match="left by an earlier run"):
        w = Writer(out)
    w.abort()
    assert not dead.exists() and alive.exists() and other.exists()


def test_merge_names_missing_chunks(tmp_path: Path) -> None:
    from k4mlinference.framework.executors import ChunkError, merge_outputs

    with pytest.raises(ChunkError, match="chunk output\\(s\\) missing: .*c1.root"):
        merge_outputs([str(tmp_path / "c0.root"), str(tmp_path / "c1.root")], str(tmp_path / "m.root"), [])
