"""The event loop: input (IOSvc or producers) -> algorithms in data-flow order -> output.

Events are processed in blocks whose size is the largest `BatchSize` property among the algorithms
(docs/ALGORITHM_API.md): each algorithm runs over the whole block (`process_batch`) before the next
one, so batching algorithms see K events per call while per-event algorithms do not notice.
Inputs are type-checked against the declared collection types; every failure names the algorithm,
the collection or property and the event number.
"""

from __future__ import annotations

import fnmatch
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
        from k4mlinference.io.writer import normalize_backend

        self.algorithms = list(algorithms)
        self.inputs = list(inputs or [])
        self.output = output
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
        self.progress = progress
        self.timing: dict[str, list[float]] = {}
        self._type_ok: dict[tuple[int, str], set[type]] = {}

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
        n_avail = max(len(frames) - self.first_entry, 0)
        n = n_avail if self.evt_max < 0 else min(self.evt_max, n_avail)
        return frames, n

    def _batch_size(self) -> int:
        sizes = [1]
        for alg in self.algorithms:
            if "BatchSize" in alg.properties():
                try:
                    sizes.append(int(alg.get_property("BatchSize")))
                except (TypeError, ValueError):
                    pass
        return max(sizes)

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
        result = RunResult(events=n_events, first_event=self.first_entry, output=self.output)
        bar = self._progress_bar(n_events)
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
            if writer is not None:
                t0 = time.perf_counter()
                for alg in order:  # algorithm hooks (cellID encodings of the readouts they write)
                    self.metadata.update(alg.file_metadata())
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
    def _inputs_for(self, alg: Algorithm, frame: Any, number: int) -> tuple:
        args = []
        for handle in alg.input_handles():
            names = handle.names(alg)
            colls = []
            for name in names:
                try:
                    coll = frame.get(name)
                except KeyError:
                    avail = ", ".join(frame.getAvailableCollections()) or "(none)"
                    raise AlgorithmError(
                        f"{alg.type_name()}/{alg.name}: input collection '{name}' ({handle.name}) is missing in event "
                        f"{number}; available: {avail}"
                    ) from None
                self._check_type(alg, handle, name, coll, number, "input")
                colls.append(coll)
            args.append(colls if isinstance(handle, Inputs) else colls[0])
        return tuple(args)

    def _check_type(self, alg: Algorithm, handle: Any, name: str, coll: Any, number: int, what: str) -> None:
        expected = handle.collection_type
        ok = self._type_ok.setdefault((id(handle), name), set())
        if type(coll) in ok:
            return
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
        ok.add(type(coll))

    def _process_block(self, order: list[Algorithm], block: list[Any], numbers: list[int]) -> list[bool]:
        alive = [True] * len(block)
        for alg in order:
            idx = [i for i, ok in enumerate(alive) if ok]
            if not idx:
                break
            events = [self._inputs_for(alg, block[i], numbers[i]) for i in idx]
            alg.event_numbers = [numbers[i] for i in idx]
            alg.event_number = numbers[idx[0]]
            t0 = time.perf_counter()
            try:
                results = alg.process_batch(events)
            except AlgorithmError:
                raise
            except Exception as exc:
                n = alg.event_number if len(idx) > 1 else numbers[idx[0]]
                raise AlgorithmError(
                    f"{alg.type_name()}/{alg.name} failed in event {n}: {type(exc).__name__}: {exc}"
                ) from exc
            self._time(alg.name, time.perf_counter() - t0, len(idx))
            if results is None or len(results) != len(idx):
                got = "None" if results is None else f"{len(results)} results"
                raise AlgorithmError(
                    f"{alg.type_name()}/{alg.name}: process_batch returned {got} for {len(idx)} events"
                )
            if alg.kind == "FilterPredicate":
                for i, r in zip(idx, results):
                    alive[i] = bool(r)
                continue
            handles = alg.output_handles()
            for i, r in zip(idx, results):
                try:
                    parts = alg.split_result(r)
                except TypeError as exc:
                    raise AlgorithmError(f"{alg.type_name()}/{alg.name} in event {numbers[i]}: {exc}") from None
                for handle, part in zip(handles, parts):
                    names = handle.names(alg)
                    colls = part if isinstance(handle, Outputs) else [part]
                    if not isinstance(colls, (list, tuple)) or len(colls) != len(names):
                        raise AlgorithmError(
                            f"{alg.type_name()}/{alg.name} in event {numbers[i]}: output {handle.name} expects "
                            f"{len(names)} collection(s) ({', '.join(names)}), got {colls!r}"
                        )
                    for name, coll in zip(names, colls):
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
