"""Parallel and distributed k4run: --ncpus 2 and --executor dask equal the serial run event by event;
a failing chunk is retried once, then reported with its event range, and finished chunks are kept."""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_framework_k4run import OPTIONS, assert_same_events, k4run, k4run_command

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


def test_fresh_interpreter_workers_equal_serial(serial, tmp_path, monkeypatch):
    """Workers are forks of the driver where that is safe; K4ML_FRESH_WORKERS=1 (and any process with
    threads) starts fresh interpreters instead, with the same output."""
    monkeypatch.setenv("K4ML_FRESH_WORKERS", "1")
    res = k4run(
        str(OPTIONS / "gun_digitize.py"), "-n", str(N), "--IOSvc.Output=fresh.root", "--ncpus", "2", cwd=tmp_path
    )
    assert "chunk 1 (events 4-7)" in res.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.root"]
    assert_same_events(serial, tmp_path / "fresh.root")


def test_workers_are_forked_only_from_a_single_threaded_process(tmp_path):
    """Checked in a fresh process (this one may run threads, e.g. fsspec's after uproot reads)."""
    import os
    import subprocess
    import sys

    script = textwrap.dedent(
        """
        import os, threading
        from k4mlinference.framework.executors import can_fork

        assert can_fork()
        release = threading.Event()
        t = threading.Thread(target=release.wait)
        t.start()
        assert not can_fork()  # a fork copies only this thread: a lock the other one holds stays held
        release.set()
        t.join()
        os.environ["K4ML_FRESH_WORKERS"] = "1"
        assert not can_fork()
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "K4ML_FRESH_WORKERS"}
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path, env=env, timeout=120)


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


@contextlib.contextmanager
def _dask_cluster(tmp_path: Path, n_workers: int) -> Iterator[tuple[str, list]]:
    """A `dask scheduler` and `n_workers` single-thread `dask worker` processes (no nanny, so a
    SIGKILL really loses the worker), all on 127.0.0.1. Yields the address and the processes,
    which are stopped on exit whatever happened (SIGTERM, then SIGKILL after 30 s)."""
    import os
    import subprocess
    import sys

    # allowed-failures 0: the scheduler gives up on a chunk at its first dead worker and the client
    # gets a KilledWorker, so the test goes through our retry (with the default, Dask reschedules alone)
    # TMPDIR: the chunk folder a killed worker cannot remove stays under the test's own folder
    (tmp_path / "workertmp").mkdir()
    env = dict(os.environ, DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="0", TMPDIR=str(tmp_path / "workertmp"))
    sfile = tmp_path / "scheduler.json"
    dask = [sys.executable, "-m", "dask"]
    procs = []
    try:
        yield _start_dask(dask, env, sfile, tmp_path, n_workers, procs), procs
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _start_dask(dask: list[str], env: dict, sfile: Path, tmp_path: Path, n_workers: int, procs: list) -> str:
    """Start the scheduler and workers (appended to `procs` as they start); returns the address."""
    import json
    import subprocess
    import time

    procs.append(
        subprocess.Popen(
            [*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", sfile],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    address = ""
    for _ in range(600):  # bounded wait (2 minutes, the machine may be busy) for the scheduler file
        try:
            address = json.loads(sfile.read_text())["address"]
            break
        except (OSError, ValueError, KeyError):
            time.sleep(0.2)
    assert address, "the dask scheduler did not start"
    for _ in range(n_workers):
        procs.append(
            subprocess.Popen(
                [*dask, "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny", "--no-dashboard"],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    from distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(n_workers, timeout=120)
    return address


def test_dask_worker_killed_mid_run_still_equals_serial(serial, tmp_path):
    """A worker SIGKILLed while it runs a chunk: its chunks come back as KilledWorker, are retried on the
    other worker, and the merged output still equals the serial run; the dead worker's k4run dies too."""
    import os
    import signal
    import subprocess
    import time

    import psutil

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with _dask_cluster(tmp_path, 2) as (address, procs):
        victim = procs[1]
        cmd = [*k4run_command(), str(OPTIONS / "gun_digitize.py"), "-n", str(N), "--IOSvc.Output=killed.root"]
        cmd += ["--executor", "dask", "--scheduler", address, "--ncpus", str(N)]  # 8 one-event chunks
        driver = subprocess.Popen(cmd, cwd=run_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            chunk_proc = None
            for _ in range(600):  # bounded: up to 2 minutes for the victim to start a chunk's k4run
                children = psutil.Process(victim.pid).children()
                if children:
                    chunk_proc = children[0]
                    break
                time.sleep(0.2)
            assert chunk_proc is not None, "the worker never started a chunk"
            os.kill(victim.pid, signal.SIGKILL)
            out, err = driver.communicate(timeout=300)
        finally:
            if driver.poll() is None:  # a failed assertion above: stop the driver too
                driver.kill()
                driver.wait()
    assert driver.returncode == 0, f"{out}\n{err}"
    assert "failed, retrying once: its Dask worker died (KilledWorker: " in out, out
    assert psutil.wait_procs([chunk_proc], timeout=30)[1] == []  # the chunk's k4run died with its worker
    assert sorted(p.name for p in run_dir.iterdir()) == ["killed.root"], out
    assert_same_events(serial, run_dir / "killed.root")


def test_dask_shared_dir_chunks_write_there_and_equal_serial(serial, tmp_path):
    """--shared-dir: chunks write their outputs straight into the declared folder (no bytes shipped back)."""
    shared, run_dir = tmp_path / "shared", tmp_path / "run"
    shared.mkdir()
    run_dir.mkdir()
    args = [str(OPTIONS / "gun_digitize.py"), "-n", str(N), "--IOSvc.Output=sd.root", "--executor", "dask"]
    res = k4run(*args, "--ncpus", "2", "--shared-dir", str(shared), cwd=run_dir)
    assert f"-> {shared / 'sd.chunk000.root'}" in res.stdout and f"-> {shared / 'sd.chunk001.root'}" in res.stdout
    assert sorted(p.name for p in run_dir.iterdir()) == ["sd.root"]
    assert list(shared.iterdir()) == []  # chunk outputs removed once merged
    assert_same_events(serial, run_dir / "sd.root")


def test_dask_shared_dir_is_checked_at_start(tmp_path):
    args = [str(OPTIONS / "gun_digitize.py"), "-n", "2", "--IOSvc.Output=x.root", "--executor", "dask"]
    res = k4run(*args, "--shared-dir", str(tmp_path / "nope"), cwd=tmp_path, check=False)
    assert res.returncode == 1
    assert res.stderr.strip().splitlines()[-1] == f"k4run: error: --shared-dir {tmp_path / 'nope'}: no such folder"
    res = k4run(*args[:-2], "--ncpus", "2", "--shared-dir", str(tmp_path), cwd=tmp_path, check=False)
    assert res.returncode == 1 and "--shared-dir is for --executor dask" in res.stderr
