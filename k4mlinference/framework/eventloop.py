"""The event loop: input (IOSvc or producers) -> algorithms in data-flow order -> output.

Events are processed in blocks of at least BLOCK_EVENTS events (more if an algorithm's `BatchSize` is
larger; docs/ALGORITHM_API.md): each algorithm runs over the whole block (`process_batch`, K events
per call for `BatchSize=K`) before the next one, so batching algorithms see K events per call while
per-event algorithms do not notice, and the loop's bookkeeping is paid once per block. Inputs are
type-checked against the declared collection types (in full once per run and collection, then by
comparing the Python type); every failure names the algorithm, the collection or property and the
event number.
"""

from __future__ import annotations

import bisect
import fnmatch
import gc
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from k4mlinference.framework import messages
from k4mlinference.framework.algorithm import Algorithm
from k4mlinference.framework.component import ConfigurationError
from k4mlinference.framework.properties import Inputs, Outputs
from k4mlinference.framework.scheduler import schedule


class AlgorithmError(RuntimeError):
    """An algorithm failed while processing an event (the message names both)."""


@dataclass
class RunResult:
    """What a run did: events read/processed/written, per-algorithm timing, output path."""

    events: int = 0
    written: int = 0
    first_event: int = 0
    timing: dict[str, list[float]] = field(default_factory=dict)  # name -> [seconds, events, calls]
    output: str = ""
    seconds: float = 0.0
    stopped_by: int = 0  # the signal that stopped the run after a block (0: ran to the end)


class StopRequest:
    """A request to stop after the current block (k4run's SIGTERM/SIGINT handler sets it).

    The loop checks it between blocks, so every event it processed is complete; what happens to
    the output then is `keep_output`'s choice (the completed events under the final name, or nothing).
    """

    def __init__(self) -> None:
        self.signum = 0
        self.keep_output = True

    def request(self, signum: int) -> None:
        self.signum = int(signum)

    def clear(self) -> None:
        self.signum = 0


STOP = StopRequest()


# ------------------------------------------------------------------ output selection
def parse_output_commands(commands: list[str]) -> list[tuple[bool, str, str]]:
    """'keep X' / 'drop X' / 'keep type T' -> (keep, 'name'|'type', pattern); validated up front."""
    out = []
    for cmd in commands:
        parts = cmd.split()
        if len(parts) == 2 and parts[0] in ("keep", "drop"):
            out.append((parts[0] == "keep", "name", parts[1]))
        elif len(parts) == 3 and parts[0] in ("keep", "drop") and parts[1] == "type":
            out.append((parts[0] == "keep", "type", parts[2].replace(" ", "")))
        else:
            raise ConfigurationError(
                f"IOSvc.outputCommands: cannot parse {cmd!r}; use 'keep NAME', 'drop NAME' (globs allowed) or "
                "'keep|drop type edm4hep::XCollection'"
            )
    return out


def select_collections(collections: list[tuple[str, str]], commands: list[tuple[bool, str, str]]) -> list[str]:
    """Names to write among (name, type) pairs: the last matching command wins; kept if none matches."""
    keep = []
    for name, ctype in collections:
        decision = True
        for k, what, pattern in commands:
            value = name if what == "name" else ctype.replace(" ", "")
            if fnmatch.fnmatchcase(value, pattern):
                decision = k
        if decision:
            keep.append(name)
    return keep


# ------------------------------------------------------------------ the loop
BLOCK_EVENTS = 64  # events per block when no algorithm asks for more (per-event algorithms do not notice)


class EventLoop:
    """Runs configured algorithms over events; one instance per run."""

    def __init__(
        self,
        algorithms: list[Algorithm],
        inputs: list[str] | None = None,
        output: str = "",
        evt_max: int = -1,
        first_entry: int = 0,
        collection_names: list[str] | None = None,
        output_commands: list[str] | None = None,
        config_options: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        progress: bool | Callable[[int], None] | None = None,
        output_type: str = "default",
    ) -> None:
        self.algorithms = list(algorithms)
        self.inputs = list(inputs or [])
        self.output = output
        self.output_backend = output_type
        if output or output_type != "default":  # the I/O package is imported only by jobs that use it
            from k4mlinference.io.writer import normalize_backend

            try:  # IOSvc.OutputType: checked before anything runs
                self.output_backend = normalize_backend(output_type)
            except ValueError as exc:
                raise ConfigurationError(f"IOSvc.OutputType: {exc}") from None
        self.evt_max = int(evt_max)
        self.first_entry = int(first_entry)
        self.collection_names = list(collection_names or [])
        self.commands = parse_output_commands(list(output_commands or ["keep *"]))
        self.config_options = config_options or []
        self.metadata = metadata or {}
        self.input_metadata: dict[str, Any] = {}  # the input file's `metadata` frame parameters
        self.progress = progress
        self.timing: dict[str, list[float]] = {}
        # (id(handle), collection name) -> the collection type last checked under it
        self._known_types: dict[tuple[int, str], type] = {}
        self._plans: dict[int, tuple[list, list]] = {}  # id(algorithm) -> (inputs, outputs) with names
        self._batches: dict[int, int] = {}  # id(algorithm) -> its BatchSize (0: the whole block)

    # ---------------------------------------------------------------- set-up
    def _open_input(self) -> tuple[Any, int]:
        if not self.inputs:
            if self.evt_max < 0:
                raise ConfigurationError(
                    "no input files (IOSvc.Input) and EvtMax = -1: give the number of events with -n N or "
                    "ApplicationMgr(EvtMax=N)"
                )
            return None, self.evt_max
        from k4mlinference.io import Reader

        for path in self.inputs:
            if "://" not in path and not os.path.exists(path):
                raise ConfigurationError(f"IOSvc.Input: file {path!r} does not exist")
        try:
            reader = Reader(self.inputs)
            frames = reader.get("events", self.collection_names or None)
        except (KeyError, OSError, ValueError) as exc:  # PodioFileError is an OSError/ValueError kind
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            raise ConfigurationError(f"IOSvc.Input: {msg}") from exc
        if "metadata" in reader.categories:  # what k4FWCore::getParameter reads (the first file's)
            try:
                meta = reader.get("metadata")
                if len(meta):
                    self.input_metadata = dict(meta[0].parameters)
            except (KeyError, OSError, ValueError) as exc:  # the events are readable: warn, run without it
                messages.emit(
                    "IOSvc", messages.WARNING, f"the 'metadata' frame of {self.inputs[0]} is unreadable: {exc}"
                )
        n_avail = max(len(frames) - self.first_entry, 0)
        n = n_avail if self.evt_max < 0 else min(self.evt_max, n_avail)
        return frames, n

    def _alg_batch(self, alg: Algorithm) -> int:
        """The algorithm's `BatchSize` (events per process_batch call), 0 if it has none or takes all."""
        if "BatchSize" not in alg.properties():
            return 0
        try:
            return max(int(alg.get_property("BatchSize")), 0)
        except (TypeError, ValueError):
            return 0

    def _batch_size(self) -> int:
        """Events per block: at least BLOCK_EVENTS (the loop's bookkeeping is paid once per block), and the
        largest BatchSize; an algorithm with BatchSize=K is called on K events at a time within the block."""
        return max([BLOCK_EVENTS, *(self._alg_batch(a) for a in self.algorithms)])

    def _time(self, key: str, seconds: float, events: int) -> None:
        row = self.timing.setdefault(key, [0.0, 0, 0])
        row[0] += seconds
        row[1] += events
        row[2] += 1

    # ---------------------------------------------------------------- run
    def run(self) -> RunResult:
        t_start = time.perf_counter()
        from k4mlinference import edm

        edm.load()  # datamodels before any frame or collection is made
        for alg in self.algorithms:
            alg.check_signature()
        frames, n_events = self._open_input()
        available: list[str] = []
        if frames is not None and len(frames) > self.first_entry:
            available = list(frames[self.first_entry].getAvailableCollections())
        order = schedule(self.algorithms, available)
        messages.emit(
            "ApplicationMgr",
            messages.INFO,
            f"{n_events} events from {'input ' + ', '.join(self.inputs) if self.inputs else 'producers'}"
            f" (first entry {self.first_entry}); algorithms: {' -> '.join(a.name for a in order)}",
        )
        libraries = _cpp_libraries(order)
        for lib in libraries:  # k4FWCore::getParameter sees the input's metadata and the options' putMetadata
            lib.seed_metadata({**self.input_metadata, **self.metadata})
        for alg in order:
            t0 = time.perf_counter()
            try:
                alg.initialize()
            except ConfigurationError:
                raise
            except Exception as exc:
                raise AlgorithmError(
                    f"{alg.type_name()}/{alg.name}: initialize() failed: {type(exc).__name__}: {exc}"
                ) from exc
            self._time(alg.name, time.perf_counter() - t0, 0)
            self.timing[alg.name][2] -= 1  # initialize is not a call
        writer = None
        if self.output:
            from k4mlinference.io import Writer

            out_dir = os.path.dirname(os.path.abspath(self.output))
            os.makedirs(out_dir, exist_ok=True)
            try:
                writer = Writer(self.output, backend=self.output_backend)
            except OSError as exc:  # PodioFileError: names the output and the cause (permission denied, ...)
                raise ConfigurationError(f"IOSvc.Output: {exc}") from None
            writer.declare_category("events")
            self._write_configuration(writer)
        batch = self._batch_size()
        self._batches = {id(a): self._alg_batch(a) for a in order}
        result = RunResult(events=n_events, first_event=self.first_entry, output=self.output)
        bar = self._progress_bar(n_events)
        # What exists now (modules, models, configuration) lives for the whole run: moved out of the cyclic
        # garbage collector's reach, its full collections scan only the per-event objects. Measured: without
        # this, full collections over the ~10^5-10^6 objects of torch, onnxruntime and ROOT cost 20-30 us per
        # event in a batching chain (benchmarks/bench_backends.py). Undone at the end of the run.
        frozen = gc.get_freeze_count() == 0  # not inside a run that froze them already
        if frozen:
            gc.freeze()
        try:
            for start in range(0, n_events, batch):
                numbers = list(range(self.first_entry + start, self.first_entry + min(start + batch, n_events)))
                t0 = time.perf_counter()
                if frames is not None:
                    block = [frames[n] for n in numbers]
                else:
                    from k4mlinference.edm import Frame

                    block = [Frame() for _ in numbers]
                self._time("(input)", time.perf_counter() - t0, len(numbers))
                alive = self._process_block(order, block, numbers)
                if writer is not None:
                    t0 = time.perf_counter()
                    for frame, ok in zip(block, alive):
                        if ok:
                            writer.write_frame(frame, "events", self._kept(frame))
                            result.written += 1
                    self._time("(output)", time.perf_counter() - t0, len(numbers))
                if bar is not None:
                    bar.update(len(numbers))
                if STOP.signum:
                    result.stopped_by = STOP.signum
                    result.events = start + len(numbers)
                    if writer is not None and not STOP.keep_output:
                        writer.abort()
                        writer, result.output, result.written = None, "", 0
                    break
            for alg in order:
                t0 = time.perf_counter()
                alg.finalize()
                self._time(alg.name, time.perf_counter() - t0, 0)
                self.timing[alg.name][2] -= 1
            for lib in libraries:  # what C++ algorithms put with k4FWCore::putParameter
                self.metadata.update(lib.take_metadata())
            if writer is not None:
                t0 = time.perf_counter()
                for alg in order:  # algorithm hooks (cellID encodings of the readouts they write)
                    self.metadata.update(alg.file_metadata())
                # the input's metadata goes on, as k4FWCore's MetadataSvc carries it; this run's values win
                self.metadata = {**self.input_metadata, **self.metadata}
                if self.metadata:
                    self._write_metadata(writer)
                writer.finish()
                self._time("(output)", time.perf_counter() - t0, 0)
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        finally:
            if bar is not None:
                bar.close()
            if frozen:
                gc.unfreeze()
        result.timing = self.timing
        result.seconds = time.perf_counter() - t_start
        return result

    def _progress_bar(self, total: int) -> Any:
        show = self.progress
        if callable(show):  # a callback: told the number of events done after every block
            return _CallbackProgress(show)
        if show is None:
            show = sys.stderr.isatty() and not os.environ.get("CI")
        if not show or total <= 0:
            return None
        from tqdm import tqdm

        return tqdm(total=total, unit="evt", file=sys.stderr, leave=False, dynamic_ncols=True)

    def _kept(self, frame: Any) -> list[str]:
        # a frame read from a file knows its collections' types without reading them
        types = [(n, frame.collection_type(n)) for n in frame.getAvailableCollections()]
        return select_collections(types, self.commands)

    # ---------------------------------------------------------------- one block
    # The per-event work is kept to dictionary lookups: the data handles and their names are read once
    # per run (`_plan`), a collection's type is checked in full only when it differs from the type last
    # seen under that name (so once per run in practice), and results of single-output algorithms go
    # straight into the frame.
    def _plan(self, alg: Algorithm) -> tuple[list, list]:
        plan = self._plans.get(id(alg))
        if plan is None:
            ins = [(h, h.names(alg), isinstance(h, Inputs)) for h in alg.input_handles()]
            outs = [(h, h.names(alg), isinstance(h, Outputs)) for h in alg.output_handles()]
            plan = self._plans[id(alg)] = (ins, outs)
        return plan

    def _missing(self, alg: Algorithm, handle: Any, name: str, frame: Any, number: int) -> AlgorithmError:
        avail = ", ".join(frame.getAvailableCollections()) or "(none)"
        return AlgorithmError(
            f"{alg.type_name()}/{alg.name}: input collection '{name}' ({handle.name}) is missing in event "
            f"{number}; available: {avail}"
        )

    def _inputs_for(self, alg: Algorithm, frame: Any, number: int) -> tuple:
        known = self._known_types
        get = frame.get
        args = []
        for handle, names, multi in self._plan(alg)[0]:
            colls = []
            for name in names:
                try:
                    coll = get(name)
                except KeyError:
                    raise self._missing(alg, handle, name, frame, number) from None
                if known.get((id(handle), name)) is not type(coll):
                    self._check_type(alg, handle, name, coll, number, "input")
                colls.append(coll)
            args.append(colls if multi else colls[0])
        return tuple(args)

    def _check_type(self, alg: Algorithm, handle: Any, name: str, coll: Any, number: int, what: str) -> None:
        expected = handle.collection_type
        get_type = getattr(coll, "getTypeName", None)
        if get_type is None:
            raise AlgorithmError(
                f"{alg.type_name()}/{alg.name}: {what} '{name}' ({handle.name}) in event {number} is a "
                f"{type(coll).__name__}, not a collection"
            )
        actual = str(get_type()).replace(" ", "")
        if expected is not None and actual != expected:
            raise AlgorithmError(
                f"{alg.type_name()}/{alg.name}: {what} collection '{name}' ({handle.name}) in event {number} is "
                f"{actual}, but the algorithm declares {expected}"
            )
        self._known_types[(id(handle), name)] = type(coll)

    def _call(self, alg: Algorithm, events: list[tuple], numbers: list[int]) -> list:
        alg.event_numbers = numbers
        alg.event_number = numbers[0]
        try:
            results = alg.process_batch(events)
        except AlgorithmError:
            raise
        except Exception as exc:
            n = alg.event_number if len(numbers) > 1 else numbers[0]
            raise AlgorithmError(
                f"{alg.type_name()}/{alg.name} failed in event {n}: {type(exc).__name__}: {exc}"
            ) from exc
        if results is None or len(results) != len(numbers):
            got = "None" if results is None else f"{len(results)} results"
            raise AlgorithmError(
                f"{alg.type_name()}/{alg.name}: process_batch returned {got} for {len(numbers)} events"
            )
        return results

    def _process_block(self, order: list[Algorithm], block: list[Any], numbers: list[int]) -> list[bool]:
        alive = [True] * len(block)
        known = self._known_types
        all_alive = True
        for alg in order:
            idx = list(range(len(block))) if all_alive else [i for i, ok in enumerate(alive) if ok]
            if not idx:
                break
            ins, outs = self._plan(alg)
            if len(ins) == 1 and not ins[0][2]:  # one collection in: the common case, without the general loop
                handle, (name,), _ = ins[0]
                key = (id(handle), name)
                checked = known.get(key)  # the type last checked under this name: a full check only if it changes
                frames = block if all_alive else [block[i] for i in idx]
                events = []
                for i, coll in zip(idx, block[0].get_block(frames, name)):
                    if coll is None:
                        raise self._missing(alg, handle, name, block[i], numbers[i])
                    if type(coll) is not checked:
                        self._check_type(alg, handle, name, coll, numbers[i], "input")
                        checked = type(coll)
                    events.append((coll,))
            elif not ins:
                events = [()] * len(idx)
            else:
                events = [self._inputs_for(alg, block[i], numbers[i]) for i in idx]
            k = self._batches.get(id(alg)) or len(block)
            results = []
            t0 = time.perf_counter()
            c = 0  # calls on the surviving events of each window of k consecutive events
            for start in range(0, len(block), k):
                n = bisect.bisect_left(idx, start + k, lo=c) - c
                if n:
                    results += self._call(alg, events[c : c + n], [numbers[i] for i in idx[c : c + n]])
                    c += n
            self._time(alg.name, time.perf_counter() - t0, len(idx))
            if alg.kind == "FilterPredicate":
                for i, r in zip(idx, results):
                    alive[i] = bool(r)
                all_alive = all(alive)
                continue
            if len(outs) == 1 and not outs[0][2] and type(alg).split_result is Algorithm.split_result:
                handle, (name,), _ = outs[0]  # one collection out
                checked = known.get((id(handle), name))
                for i, r in zip(idx, results):
                    if type(r) is not checked:
                        self._check_type(alg, handle, name, r, numbers[i], "output")
                        checked = type(r)
                block[0].put_block([block[i] for i in idx] if not all_alive else block, results, name)
                continue
            for i, r in zip(idx, results):
                try:
                    parts = alg.split_result(r)
                except TypeError as exc:
                    raise AlgorithmError(f"{alg.type_name()}/{alg.name} in event {numbers[i]}: {exc}") from None
                for (handle, names, multi), part in zip(outs, parts):
                    colls = part if multi else [part]
                    if not isinstance(colls, (list, tuple)) or len(colls) != len(names):
                        raise AlgorithmError(
                            f"{alg.type_name()}/{alg.name} in event {numbers[i]}: output {handle.name} expects "
                            f"{len(names)} collection(s) ({', '.join(names)}), got {colls!r}"
                        )
                    for name, coll in zip(names, colls):
                        if known.get((id(handle), name)) is not type(coll):
                            self._check_type(alg, handle, name, coll, numbers[i], "output")
                        block[i].put(coll, name)
        return alive

    # ---------------------------------------------------------------- metadata frames
    def _write_configuration(self, writer: Any) -> None:
        """`configuration_metadata` with the option lines, as k4FWCore's Writer writes it."""
        from k4mlinference.edm import Frame

        frame = Frame()
        frame.putParameter("gaudiConfigOptions", list(self.config_options) or [""])
        if os.environ.get("KEY4HEP_STACK"):
            frame.putParameter("key4hepstack", os.environ["KEY4HEP_STACK"])
        writer.write_frame(frame, "configuration_metadata")

    def _write_metadata(self, writer: Any) -> None:
        from k4mlinference.edm import Frame

        frame = Frame()
        for key, value in self.metadata.items():
            frame.putParameter(key, value)
        writer.write_frame(frame, "metadata")


def _cpp_libraries(algorithms: list[Algorithm]) -> list[Any]:
    """The compiled libraries the C++ algorithms of a run come from (each holds a metadata store)."""
    libs = {id(lib): lib for alg in algorithms if (lib := getattr(type(alg), "_library", None)) is not None}
    return list(libs.values())


class _CallbackProgress:
    """`progress=callable` as a progress bar: calls it with the events done so far."""

    def __init__(self, callback: Callable[[int], None]) -> None:
        self.callback = callback
        self.done = 0

    def update(self, n: int) -> None:
        self.done += n
        self.callback(self.done)

    def close(self) -> None:
        pass


def format_timing(timing: dict[str, list[float]], total_events: int) -> list[str]:
    """The end-of-run table: per algorithm total time, events, time per event and share."""
    total = sum(v[0] for v in timing.values()) or 1e-12
    lines = [f"{'component':<28}{'events':>8}{'total [s]':>12}{'per event [ms]':>16}{'share':>8}"]
    for name, (secs, events, _calls) in timing.items():
        per = 1e3 * secs / events if events else 0.0
        lines.append(f"{name[:27]:<28}{int(events):>8}{secs:>12.4f}{per:>16.4f}{100 * secs / total:>7.1f}%")
    lines.append(f"{'total':<28}{total_events:>8}{total:>12.4f}")
    return lines
