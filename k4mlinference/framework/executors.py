"""Parallel and distributed runs: the event range split into chunks, one k4run worker per chunk.

Designed like coffea's executors: one `Executor` interface (`map` a function over items, yielding
(item, result-or-exception) as they finish) with Serial, Processes and Dask implementations, swapped
by one object. The driver (`run_chunks`) is the same for all: it builds the chunks, retries a failed
chunk once, reports what still fails with its event range, and merges the chunk outputs in event
order. Each worker is its own `k4run` process on its chunk (`--IOSvc.FirstEventEntry`, `-n`, its own
`--IOSvc.Output`), so workers share nothing and a Dask worker needs only this package installed. Local
workers are forks of the driver where that is safe (`can_fork`): the interpreter, ROOT, the datamodels and
the compiled C++ algorithms are loaded once, not once per worker; otherwise fresh interpreters.
Producers seed from the event number, hence parallel output equals serial output.
"""

from __future__ import annotations

import array
import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from k4mlinference.framework import messages


class ChunkError(RuntimeError):
    """A chunk's worker failed; the message names the event range and ends with the worker's log."""


@dataclass
class Chunk:
    """One worker's share: events [first, first + count) of the stream, and where it writes."""

    index: int
    first: int
    count: int
    output: str  # chunk output file ('' = none)
    log: str
    argv: list[str] = field(default_factory=list)  # k4run arguments (options files + overrides)
    cwd: str = ""
    iosvc: str = "IOSvc"
    config_file: str = ""  # JSON list of the parent's option lines, written as configuration_metadata
    # shipped mode (Dask: the worker may see none of the driver's disk): `files` holds the options
    # files and the option lines by name, the worker runs in its own temporary folder and sends
    # its output file and log back in the report
    ship: bool = False
    files: dict[str, str] = field(default_factory=dict)
    shared: bool = False  # shipped, but `output` is on a folder every worker sees: written there, not sent back

    @property
    def range_text(self) -> str:
        return f"events {self.first}-{self.first + self.count - 1}"


_CHILDREN: set[Worker] = set()  # running k4run workers started by this process
_CHILDREN_LOCK = threading.Lock()
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Called by a worker k4run at start: get SIGKILL when the process that started it dies (Linux
    prctl), so no worker outlives a driver killed by any signal, -9 included; its temporary output
    is cleaned up by the next run (io.writer.remove_stale_temporaries). Exits at once when the
    parent is already gone."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: workers are still stopped by stop_children
        return
    if os.getppid() != parent_pid:
        os._exit(128 + signal.SIGKILL)


def stop_children(signum: int = signal.SIGTERM) -> int:
    """Send `signum` to every running worker of this process (they discard their chunk); returns how many."""
    with _CHILDREN_LOCK:
        children = list(_CHILDREN)
    for p in children:
        try:
            p.send_signal(signum)
        except ProcessLookupError:
            pass
    return len(children)


def run_chunk(chunk: Chunk | dict) -> dict:
    """Run one chunk in its own k4run process (on whatever machine calls this) and return its report."""
    if isinstance(chunk, dict):
        chunk = Chunk(**chunk)
    if chunk.ship:
        return _run_shipped(chunk)
    t0 = time.perf_counter()
    worker = start_chunk(chunk)
    return finish_chunk(chunk, worker.wait(), t0)


class Worker:
    """A running chunk process: a fork of this process, or a fresh interpreter (`subprocess.Popen`)."""

    def __init__(self, pid: int = 0, popen: subprocess.Popen | None = None) -> None:
        self.pid = popen.pid if popen is not None else pid
        self.popen = popen
        self.returncode: int | None = None

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, signum)

    def poll(self) -> int | None:
        """The exit code once the process ended (reaped here), else None."""
        if self.returncode is None:
            if self.popen is not None:
                self.returncode = self.popen.poll()
            else:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
            if self.returncode is not None:
                with _CHILDREN_LOCK:
                    _CHILDREN.discard(self)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            try:
                if self.popen is not None:
                    self.returncode = self.popen.wait()
                else:
                    self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
            finally:
                if self.returncode is not None:
                    with _CHILDREN_LOCK:
                        _CHILDREN.discard(self)
        return self.returncode


# imported, these run thread pools that do not survive a fork (OpenMP's, onnxruntime's): fresh interpreters then
_FORK_UNSAFE_MODULES = ("torch", "onnxruntime", "tensorflow", "jax")


def can_fork() -> bool:
    """Whether a chunk may run in a fork of this process: POSIX, no other Python thread (a fork copies
    only the calling thread, and a lock another one holds stays held; a Dask worker has threads), and
    no library with a fork-unsafe thread pool loaded. (numpy's OpenBLAS pool is fork-safe: OpenBLAS
    shuts it down around fork.) K4ML_FRESH_WORKERS=1 forces fresh interpreters."""
    if not hasattr(os, "fork") or os.environ.get("K4ML_FRESH_WORKERS") == "1":
        return False
    return threading.active_count() == 1 and not any(m in sys.modules for m in _FORK_UNSAFE_MODULES)


def start_chunk(chunk: Chunk) -> Worker:
    """Start the chunk's k4run: forked from this process where that is safe (the imports, datamodels
    and compiled C++ algorithms are loaded already, so the worker starts in milliseconds and runs
    the options files again), else as a fresh `python -m k4mlinference.framework.cli`."""
    args = [
        *chunk.argv,
        f"--{chunk.iosvc}.FirstEventEntry={chunk.first}",
        f"--num-events={chunk.count}",
        f"--{chunk.iosvc}.Output={chunk.output}",
        "--ncpus=1",
        "--executor=local",
        f"--worker-report={chunk.log}.json",
    ]
    if chunk.config_file:
        args.append(f"--config-options={chunk.config_file}")
    env = {"K4ML_WORKER": str(os.getpid()), "PYTHONUNBUFFERED": "1"}
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = os.environ.get(var, "1")  # one core per worker: the chunks are the parallelism
    if can_fork():
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _forked_worker(args, chunk.log, chunk.cwd, env)  # never returns
        worker = Worker(pid)
    else:
        with open(chunk.log, "w") as log:
            popen = subprocess.Popen(
                [sys.executable, "-m", "k4mlinference.framework.cli", *args],
                cwd=chunk.cwd or None,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(os.environ, **env),
            )
        worker = Worker(popen=popen)
    with _CHILDREN_LOCK:
        _CHILDREN.add(worker)
    return worker


def _forked_worker(args: list[str], log: str, cwd: str, env: dict[str, str]) -> None:
    """The child side of a fork: k4run on the chunk with its output to the log, then exit (never
    returning into the driver's code it was forked from)."""
    code = 1
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # as a fresh process; k4run installs its own
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _CHILDREN.clear()  # the driver's workers are not this one's
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        for stream in (sys.stdout, sys.stderr):
            if hasattr(stream, "reconfigure"):
                stream.reconfigure(line_buffering=True)
        if cwd:
            os.chdir(cwd)
        os.environ.update(env)
        from k4mlinference.framework import cli
        from k4mlinference.framework.eventloop import STOP

        STOP.clear()
        code = cli.main(args)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001  (whatever it is, the child must not return into the driver)
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def finish_chunk(chunk: Chunk, rc: int, t0: float) -> dict:
    """The report of a chunk whose process ended with `rc` (a ChunkError naming the cause if it failed)."""
    if rc != 0:
        lines = Path(chunk.log).read_text(errors="replace").strip().splitlines()
        causes = [ln[len("k4run: error: ") :] for ln in lines if ln.startswith("k4run: error: ")]
        cause = causes[-1] if causes else (lines[-1] if lines else "no output")
        raise ChunkError(f"exited with code {rc}: {cause} (log: {chunk.log})")
    report = chunk.log + ".json"
    out = json.loads(Path(report).read_text()) if os.path.exists(report) else {}
    out["wall"] = time.perf_counter() - t0
    return out


def _run_shipped(chunk: Chunk) -> dict:
    """A chunk that brings its files along and takes its output home (nothing on a shared disk)."""
    import base64
    import shutil

    work = tempfile.mkdtemp(prefix="k4run-chunk-")
    try:
        for name, text in chunk.files.items():
            Path(work, name).write_text(text)
        if chunk.shared and not os.path.isdir(Path(chunk.output).parent):
            raise ChunkError(f"shared folder {Path(chunk.output).parent} is not visible on {os.uname().nodename}")
        local = Chunk(
            chunk.index,
            chunk.first,
            chunk.count,
            chunk.output if chunk.shared else os.path.join(work, Path(chunk.output).name) if chunk.output else "",
            os.path.join(work, "chunk.log"),
            list(chunk.argv),
            work,
            chunk.iosvc,
            os.path.join(work, chunk.config_file) if chunk.config_file else "",
        )
        try:
            out = run_chunk(local)
        except ChunkError as exc:
            tail = Path(local.log).read_text(errors="replace")[-2000:] if os.path.exists(local.log) else ""
            raise ChunkError(f"{str(exc).split(' (log:')[0]} on {os.uname().nodename}; log tail:\n{tail}") from None
        if local.output and not chunk.shared:
            out["output_bytes"] = base64.b64encode(Path(local.output).read_bytes()).decode()
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _ship(chunks: list[Chunk], argv: list[str], config_file: str, shared_dir: str = "") -> None:
    """Turn driver-local chunks into shipped ones: options files by content, relative names only;
    with `shared_dir`, each chunk's output goes there (the only path workers and driver share)."""
    files, args = {}, []
    for a in argv:
        if os.path.isfile(a) and a.endswith(".py"):
            name = f"opts{len(files)}_{Path(a).name}"
            files[name] = Path(a).read_text()
            args.append(name)
        else:
            args.append(a)
    if config_file:
        files["options.json"] = Path(config_file).read_text()
    for c in chunks:
        c.ship, c.files, c.argv, c.cwd = True, files, list(args), ""
        c.config_file = "options.json" if config_file else ""
        if shared_dir and c.output:
            c.output, c.shared = os.path.join(shared_dir, Path(c.output).name), True


# ------------------------------------------------------------------ executors
class Executor(ABC):
    """Maps a function over items; yields (item, result or the exception raised) as they finish."""

    name = "executor"
    workers = 1
    # called once while the first workers run and this process only waits (the driver sets it: the
    # merge's first-call costs are paid then, not after the last chunk)
    while_waiting: Callable[[], None] | None = None
    shared_dir = ""  # Dask: a folder the driver and every worker see, where chunks write their outputs

    @abstractmethod
    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[tuple[Any, Any]]: ...

    def close(self) -> None:  # noqa: B027 (optional hook, nothing to release by default)
        """Release workers/clusters."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class SerialExecutor(Executor):
    """One item after the other in this process (chunks still run as k4run subprocesses)."""

    name = "serial"

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        for item in items:
            try:
                yield item, fn(item)
            except Exception as exc:  # reported by the driver
                yield item, exc


class ProcessesExecutor(Executor):
    """Up to `workers` items at once on this machine (each chunk is its own k4run process)."""

    name = "processes"

    def __init__(self, workers: int) -> None:
        self.workers = max(1, int(workers))
        self._pool = ThreadPoolExecutor(max_workers=self.workers)  # threads only wait on subprocesses

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        items = list(items)
        if fn is run_chunk and not any(isinstance(i, Chunk) and i.ship for i in items):
            yield from self._run_chunks(items)  # from this thread: workers may be forks of this process
            return
        futures = {self._pool.submit(fn, item): item for item in items}
        for fut in as_completed(futures):
            exc = fut.exception()
            yield futures[fut], exc if exc is not None else fut.result()

    def _run_chunks(self, items: list[Any]) -> Iterator[tuple[Any, Any]]:
        """Up to `workers` chunk processes at once, started and reaped by this thread (no waiting threads)."""
        pending = [Chunk(**i) if isinstance(i, dict) else i for i in items]
        running: dict[Worker, tuple[Any, float]] = {}
        while pending or running:
            while pending and len(running) < self.workers:
                chunk = pending.pop(0)
                try:
                    running[start_chunk(chunk)] = (chunk, time.perf_counter())
                except Exception as exc:  # reported by the driver
                    yield chunk, exc
            if self.while_waiting is not None and running:
                hook, self.while_waiting = self.while_waiting, None
                try:
                    hook()
                except Exception as exc:  # noqa: BLE001  (an optimisation: the merge itself reports real errors)
                    messages.emit("Executor", messages.DEBUG, f"preparing the merge failed: {exc}")
            done = [w for w in running if w.poll() is not None]
            if not done:
                time.sleep(0.005)
                continue
            for w in done:
                chunk, t0 = running.pop(w)
                try:
                    yield chunk, finish_chunk(chunk, w.returncode, t0)
                except Exception as exc:
                    yield chunk, exc

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class DaskExecutor(Executor):
    """Items as tasks on a Dask distributed cluster: `scheduler` address, or a LocalCluster.

    Anything `distributed.Client` accepts works as the address (a dask-jobqueue cluster's
    scheduler too). Chunks are plain dicts and `run_chunk` is importable, so workers only need
    this package. Outputs come back as bytes in the task result, unless `shared_dir` names a
    folder every worker can write (checked here, before any worker starts).
    """

    name = "dask"

    def __init__(self, scheduler: str | None = None, workers: int = 2, shared_dir: str = "") -> None:
        from distributed import Client, LocalCluster

        self.shared_dir = check_shared_dir(shared_dir) if shared_dir else ""
        self._cluster = None
        if scheduler:
            self._client = Client(scheduler)
            self.workers = max(1, len(self._client.scheduler_info().get("workers", {})))
        else:
            self._cluster = LocalCluster(
                n_workers=max(1, int(workers)),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=40,
            )
            self._client = Client(self._cluster)
            self.workers = max(1, int(workers))

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        from distributed import KilledWorker
        from distributed import as_completed as dask_completed

        items = list(items)
        futures = {}
        for item in items:
            payload = asdict(item) if isinstance(item, Chunk) else item
            futures[self._client.submit(fn, payload, pure=False)] = item
        for fut in dask_completed(list(futures)):
            try:
                yield futures[fut], fut.result()
            except KilledWorker as exc:  # the worker died under the chunk: retried like any failed chunk
                yield futures[fut], ChunkError(f"its Dask worker died (KilledWorker: {exc})")
            except Exception as exc:
                yield futures[fut], exc

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def check_shared_dir(path: str) -> str:
    """The absolute path of a user-declared shared folder, or a ConfigurationError naming it."""
    from k4mlinference.framework.component import ConfigurationError

    folder = os.path.abspath(path)
    if not os.path.isdir(folder):
        raise ConfigurationError(f"--shared-dir {folder}: no such folder")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".k4run-write-test-"):
            pass
    except OSError as exc:
        raise ConfigurationError(f"--shared-dir {folder}: not writable ({exc.strerror})") from None
    return folder


def make_executor(kind: str, ncpus: int, scheduler: str | None = None, shared_dir: str = "") -> Executor:
    if kind == "dask":
        return DaskExecutor(scheduler, ncpus, shared_dir)
    if shared_dir:
        from k4mlinference.framework.component import ConfigurationError

        raise ConfigurationError("--shared-dir is for --executor dask (local chunks write next to the output)")
    if kind in ("local", "processes", "futures"):
        return ProcessesExecutor(ncpus) if ncpus > 1 else SerialExecutor()
    if kind in ("serial", "iterative"):
        return SerialExecutor()
    raise ValueError(f"unknown executor {kind!r}: use local or dask")


# ------------------------------------------------------------------ the driver
def split(total: int, n: int, first: int = 0) -> list[tuple[int, int]]:
    """(first, count) of n contiguous, nearly equal chunks of `total` events."""
    n = max(1, min(n, total)) if total > 0 else 1
    base, extra = divmod(total, n)
    out, pos = [], first
    for i in range(n):
        c = base + (1 if i < extra else 0)
        out.append((pos, c))
        pos += c
    return [(f, c) for f, c in out if c > 0]


def chunk_output(output: str, index: int) -> str:
    p = Path(output)
    return str(p.with_name(f"{p.stem}.chunk{index:03d}{p.suffix or '.root'}"))


def run_chunks(
    executor: Executor,
    argv: list[str],
    total: int,
    first: int,
    output: str,
    n_chunks: int,
    iosvc: str = "IOSvc",
    config_options: list[str] | None = None,
    output_type: str = "default",
) -> dict:
    """Run `total` events from `first` in chunks on `executor`, retry failures once, merge outputs.

    Returns {"chunks": [...reports], "timing": summed per-component timing, "failed": [...messages],
    "output": merged file or ''}.
    """
    cwd = os.getcwd()
    logdir = Path(output).parent if output else Path(tempfile.mkdtemp(prefix="k4run-chunks-"))
    logdir.mkdir(parents=True, exist_ok=True)
    config_file = ""
    if config_options:
        base = Path(output).with_suffix("") if output else logdir / "run"
        config_file = os.path.abspath(str(base) + ".options.json")
        Path(config_file).write_text(json.dumps(list(config_options)))
    chunks = []
    for i, (f, c) in enumerate(split(total, n_chunks, first)):
        out = os.path.abspath(chunk_output(output, i)) if output else ""
        stem = Path(out).with_suffix("") if out else logdir / f"chunk{i:03d}"
        chunks.append(Chunk(i, f, c, out, str(stem) + ".log", list(argv), cwd, iosvc, config_file))
    if output and executor.name == "processes":
        executor.while_waiting = lambda: warm_merge(logdir, output_type)
    if executor.name == "dask":  # a worker may be on another machine: ship inputs, bring outputs home
        _ship(chunks, argv, config_file, executor.shared_dir)
    messages.emit(
        "Executor",
        messages.INFO,
        f"{executor.name}: {total} events in {len(chunks)} chunks on {executor.workers} worker(s)",
    )
    reports: dict[int, dict] = {}
    todo = chunks
    errors: dict[int, Exception] = {}
    from k4mlinference.framework.eventloop import STOP

    for attempt in (1, 2):
        if STOP.signum:
            break
        errors = {}
        for chunk, res in executor.map(run_chunk, todo):
            if isinstance(res, Exception):
                errors[chunk.index] = res
                if attempt == 1:
                    msg, level = (
                        f"chunk {chunk.index} ({chunk.range_text}) failed, retrying once: {res}",
                        messages.WARNING,
                    )
                else:
                    msg, level = f"chunk {chunk.index} ({chunk.range_text}) failed again: {res}", messages.ERROR
                messages.emit("Executor", level, msg)
            else:
                data = res.pop("output_bytes", None)
                if data is not None:  # a shipped chunk: its output came back with the report
                    import base64

                    Path(chunk.output).write_bytes(base64.b64decode(data))
                reports[chunk.index] = res
                messages.emit(
                    "Executor",
                    messages.INFO,
                    f"chunk {chunk.index} ({chunk.range_text}) done in {res.get('wall', 0):.1f} s"
                    + (f" -> {chunk.output}" if chunk.output else ""),
                )
        todo = [c for c in chunks if c.index in errors]
        if not todo:
            break
    if STOP.signum:  # stopped by a signal: the workers were told to stop too; keep nothing
        _remove_chunk_files(chunks, config_file, with_outputs=True)
        return {"chunks": [], "timing": {}, "failed": [], "output": "", "stopped_by": STOP.signum}
    failed = [f"chunk {c.index} ({c.range_text}): {errors[c.index]}" for c in todo]
    short = [
        f"chunk {c.index} ({c.range_text}) processed {reports[c.index].get('events')} events"
        for c in chunks
        if c.index in reports and reports[c.index].get("events", c.count) != c.count
    ]
    failed += short
    timing: dict[str, list[float]] = {}
    for rep in reports.values():
        for name, row in rep.get("timing", {}).items():
            acc = timing.setdefault(name, [0.0, 0, 0])
            for k in range(3):
                acc[k] += row[k]
    merged = ""
    if output and not failed:
        expected = sum(int(reports[c.index].get("written", c.count)) for c in chunks)
        merged = merge_outputs([c.output for c in chunks], output, config_options or [], output_type, expected)
        _remove_chunk_files(chunks, config_file, with_outputs=True)
    elif not failed:
        _remove_chunk_files(chunks, config_file, with_outputs=False)
    elif output and failed:
        done = [c.output for c in chunks if c.index in reports]
        messages.emit(
            "Executor", messages.ERROR, f"not merging; finished chunk outputs kept: {', '.join(done) or '(none)'}"
        )
    return {"chunks": [reports.get(c.index) for c in chunks], "timing": timing, "failed": failed, "output": merged}


def _remove_chunk_files(chunks: list[Chunk], config_file: str, with_outputs: bool) -> None:
    """After a run: the logs, worker reports and the options file (and the chunk outputs once merged)."""
    paths = [config_file] if config_file else []
    for c in chunks:
        paths += [c.log, c.log + ".json"] + ([c.output] if with_outputs and c.output else [])
    for path in paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    from k4mlinference.io.writer import remove_stale_temporaries

    for c in chunks:
        if c.output:
            remove_stale_temporaries(c.output)


def merge_outputs(
    files: list[str], output: str, config_options: list[str], output_type: str = "default", expected: int = -1
) -> str:
    """Concatenate chunk files into `output` in chunk order.

    Fast path: the chunks have identical layouts (same options, same collections and IDs), so the
    `events` trees are concatenated with ROOT's fast tree cloning (baskets copied, nothing decoded)
    and the other trees (podio_metadata, configuration_metadata, metadata) are taken from the first
    chunk that holds events (workers write the parent's option lines, so they describe the whole
    run). If that fails, or for RNTuple output (`output_type`, IOSvc.OutputType), the chunks are read
    with our Reader and written with our Writer.
    """
    from k4mlinference.io.writer import normalize_backend

    t0 = time.perf_counter()
    backend = normalize_backend(output_type)
    missing = [f for f in files if not os.path.exists(f)]
    if missing:
        raise ChunkError(f"cannot merge into {output}: chunk output(s) missing: {', '.join(missing)}")
    existing = list(files)
    try:
        if backend != "ttree":
            raise ValueError(f"{backend} output")
        n = _merge_fast(existing, output)
        how = "fast tree cloning"
    except Exception as exc:  # a layout the fast path cannot handle: decode and re-encode
        messages.emit("Executor", messages.DEBUG, f"fast merge not possible ({exc}); merging through Reader/Writer")
        n = _merge_frames(existing, output, config_options, backend)
        how = "Reader/Writer"
    if expected >= 0 and n != expected:
        os.unlink(output)
        raise ChunkError(f"merged {n} events into {output}, but the chunks reported {expected}; output removed")
    messages.emit(
        "Executor",
        messages.INFO,
        f"merged {n} events from {len(existing)} chunk files into {output} ({how}) in {time.perf_counter() - t0:.1f} s",
    )
    return output


def warm_merge(folder: str | Path, output_type: str = "default") -> None:
    """Merge two tiny throwaway files with the fast path, so that ROOT's first-call costs of the real
    merge (its Python bindings of TChain, TTree::CloneTree, TFile, ...: about 0.3 s) are paid while
    the workers run rather than after them."""
    from k4mlinference.io.writer import normalize_backend

    if normalize_backend(output_type) != "ttree":
        return
    import ROOT

    tmp = Path(tempfile.mkdtemp(prefix=".k4run-warm-", dir=folder))
    try:
        parts = []
        for i in range(2):
            path = str(tmp / f"part{i}.root")
            f = ROOT.TFile.Open(path, "RECREATE")
            for name in ("events", "podio_metadata"):
                t = ROOT.TTree(name, name)
                value = array.array("i", [i])
                t.Branch("x", value, "x/I")
                t.Fill()
                t.Write()
            f.Close()
            parts.append(path)
        _merge_fast(parts, str(tmp / "merged.root"))
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


def _merge_fast(files: list[str], output: str) -> int:
    import ROOT

    def entries(path: str) -> int:
        f = ROOT.TFile.Open(path, "READ")
        try:
            t = f.Get("events")
            return int(t.GetEntries()) if t else 0
        finally:
            f.Close()

    with_events = [f for f in files if entries(f) > 0]
    meta_source = with_events[0] if with_events else files[0]
    from k4mlinference.io.writer import remove_stale_temporaries, temporary_name

    final = Path(output)
    remove_stale_temporaries(final)
    tmp = temporary_name(final, "merge")
    out = ROOT.TFile.Open(str(tmp), "RECREATE")
    try:
        n = 0
        if with_events:
            chain = ROOT.TChain("events")
            for f in with_events:
                chain.Add(f)
            out.cd()
            merged = chain.CloneTree(-1, "fast")
            if not merged or int(merged.GetEntries()) != int(chain.GetEntries()):
                raise RuntimeError("fast cloning of the events trees failed")
            n = int(merged.GetEntries())
            merged.Write()
            chain.Reset()
        src = ROOT.TFile.Open(meta_source, "READ")
        names = [k.GetName() for k in src.GetListOfKeys() if k.GetClassName() == "TTree" and k.GetName() != "events"]
        for name in dict.fromkeys(names):
            out.cd()
            clone = src.Get(name).CloneTree(-1, "fast")
            clone.Write()
        src.Close()
        out.Close()
    except BaseException:
        out.Close()
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, final)
    return n


def _merge_frames(existing: list[str], output: str, config_options: list[str], backend: str = "ttree") -> int:
    """Concatenate chunk files into `output` in chunk order with our Reader and Writer."""
    from k4mlinference.edm import Frame
    from k4mlinference.io import Reader, Writer

    writer = Writer(output, backend=backend)
    try:
        cfg = Frame()
        cfg.putParameter("gaudiConfigOptions", list(config_options) or [""])
        writer.write_frame(cfg, "configuration_metadata")
        n = 0
        with_events = []
        for f in existing:
            r = Reader(f)
            if "events" in r.categories and r.getEntries("events") > 0:
                with_events.append(f)
            r.close()
        if with_events:
            reader = Reader(with_events)
            for frame in reader.get("events"):
                writer.write_frame(frame, "events")
                n += 1
            if "metadata" in reader.categories:
                meta = Reader(with_events[0]).get("metadata")
                if len(meta):
                    writer.write_frame(meta[0], "metadata")
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    return n
