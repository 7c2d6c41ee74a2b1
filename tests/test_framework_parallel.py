"""Parallel and distributed k4run: --ncpus 2 and --executor dask equal the serial run event by event;
a failing chunk is retried once, then reported with its event range, and finished chunks are kept."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from test_framework_k4run import OPTIONS, assert_same_events, k4run

from k4mlinference.framework import cli
from k4mlinference.framework.executors import split

N = 8


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> Path:
    """The serial reference, run in-process (the chain is the same code k4run runs)."""
    import os

    wd = tmp_path_factory.mktemp("serial")
    old = os.getcwd()
    os.chdir(wd)
    try:
        assert cli.main([str(OPTIONS / "gun_digitize.py"), "-n", str(N), "--IOSvc.Output=serial.root"]) == 0
    finally:
        os.chdir(old)
    return wd / "serial.root"


def test_split_is_contiguous_and_complete():
    assert split(10, 3, first=5) == [(5, 4), (9, 3), (12, 3)]
    assert split(1, 4) == [(0, 1)]
    assert split(0, 2) == []


def test_ncpus_2_equals_serial(serial, tmp_path):
    res = k4run(str(OPTIONS / "gun_digitize.py"), "-n", str(N), "--IOSvc.Output=par.root", "--ncpus", "2", cwd=tmp_path)
    assert "chunk 0 (events 0-3)" in res.stdout and "chunk 1 (events 4-7)" in res.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["par.root"]  # chunks, logs, options removed
    assert_same_events(serial, tmp_path / "par.root")


def test_dask_local_cluster_equals_serial(serial, tmp_path):
    res = k4run(
        str(OPTIONS / "gun_digitize.py"),
        "-n",
        str(N),
        "--IOSvc.Output=dask.root",
        "--executor",
        "dask",
        "--ncpus",
        "2",
        cwd=tmp_path,
    )
    assert "dask: 8 events in 2 chunks on 2 worker(s)" in res.stdout
    # the chunks ran in the workers' own folders and shipped their outputs back: only the merged file here
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dask.root"]
    assert_same_events(serial, tmp_path / "dask.root")


def test_failed_chunk_is_retried_then_reported(tmp_path):
    opts = tmp_path / "flaky.py"
    opts.write_text(
        textwrap.dedent(
            """
            import os
            from Configurables import ParticleGun
            from k4FWCore import ApplicationMgr, IOSvc
            from k4mlinference.framework import Consumer, Input

            class Flaky(Consumer):
                \"\"\"Fails once in event 1 (a marker file remembers) and always in event 6.\"\"\"
                InputCollection = Input("MCParticles", type="edm4hep::MCParticleCollection")

                def __call__(self, mcps):
                    if self.event_number == 1 and not os.path.exists("tried"):
                        open("tried", "w").close()
                        raise RuntimeError("transient")
                    if self.event_number == 6:
                        raise RuntimeError("permanent")

            io = IOSvc("IOSvc")
            io.Output = "flaky.root"
            ApplicationMgr(TopAlg=[ParticleGun("Gun"), Flaky("Flaky")], EvtMax=8)
            """
        )
    )
    res = k4run(str(opts), "--ncpus", "2", cwd=tmp_path, check=False)
    assert res.returncode == 1
    assert "chunk 0 (events 0-3) failed, retrying once" in res.stdout
    assert "chunk 0 (events 0-3) done" in res.stdout  # the retry succeeded
    assert "chunk 1 (events 4-7) failed again: exited with code 1: Flaky/Flaky failed in event 6" in res.stdout
    assert "1 chunk(s) failed after one retry: chunk 1 (events 4-7): exited with code 1:" in res.stderr
    assert "RuntimeError: permanent" in res.stderr and "Traceback" not in res.stderr
    assert (tmp_path / "flaky.chunk000.root").exists()  # finished output kept
    assert not (tmp_path / "flaky.root").exists()  # no merged file with a gap


def test_reading_with_first_entry_and_filter_in_parallel_equals_serial(serial, tmp_path, monkeypatch):
    """Input file + FirstEventEntry + a FilterPredicate: chunks cover entries 1-7, the merge keeps order."""
    args = [str(OPTIONS / "read_transform.py"), "--input-file", str(serial), "--min-energy", "24"]
    args += ["--IOSvc.FirstEventEntry=1"]
    monkeypatch.chdir(tmp_path)
    assert cli.main([*args, "--IOSvc.Output=rt_serial.root"]) == 0
    res = k4run(*args, "--IOSvc.Output=rt_par.root", "--ncpus", "2", cwd=tmp_path)
    assert "chunk 0 (events 1-4)" in res.stdout and "chunk 1 (events 5-7)" in res.stdout
    import uproot

    n = uproot.open(tmp_path / "rt_serial.root")["events"].num_entries
    assert 0 < n < N - 1  # the filter dropped some events
    assert_same_events(tmp_path / "rt_serial.root", tmp_path / "rt_par.root")


def test_dask_external_scheduler_address_equals_serial(serial, tmp_path):
    """Any running Dask scheduler works (a dask-jobqueue cluster is reached the same way: by its address)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        res = k4run(
            str(OPTIONS / "gun_digitize.py"),
            "-n",
            str(N),
            "--IOSvc.Output=external.root",
            "--executor",
            "dask",
            "--scheduler",
            cluster.scheduler_address,
            "--ncpus",
            "2",
            cwd=tmp_path,
        )
    assert "2 chunks" in res.stdout
    assert_same_events(serial, tmp_path / "external.root")
