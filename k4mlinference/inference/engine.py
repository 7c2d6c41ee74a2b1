"""Batching across events: the engine that MLInference and use-case algorithms share.

    engine = InferenceEngine(get_model("m.onnx"), batch_size=256)
    outs = engine.run_events([{"x": x_event0}, {"x": x_event1}, ...])   # [{"y": y_event0}, ...]

Convention (EICrecon's): each event gives one array per model input whose leading axis is the
batch (the rows of that event: clusters, jets, hits...). The engine concatenates the rows of
K events, runs the model once and splits every output back by the same row counts, so results
equal per-event runs (bit-identical where the backend's kernels are row-independent, otherwise
to float rounding). Special cases:

- events with zero rows add nothing to a batch of events; an event (or block) with zero rows only
  gets outputs of shape (0, ...) without a model call where the contract fixes them (every output
  has the inputs' batch axis and fixed inner dims), and is otherwise given to the model, which
  computes them; a model that refuses zero rows gets one row of zeros once, to learn the output
  shapes, and the event gets those shapes with zero rows (a warning once);
- a model whose batch axis is fixed (exported as [1, n]) is run in chunks of that size;
- a model whose outputs do not carry the batch axis, inputs with different row counts in one
  event, or inputs whose inner (non-batch) shape differs between events where the model allows it
  (dynamic dims): not concatenated, run event by event (with a warning once). An inner shape the
  model fixes and an event contradicts is an error naming the event;
- optional inputs (ONNX initializers the model lets a caller override) are fed when the events give
  them (`run_events`) or when named in `inputs` (collections, in order after the required ones).

`run_collections` does the same on edm4eic::Tensor collections with the batched helpers of
`k4mlinference.edm.tensor`: a single event goes to the backend with no input copy (a view of the
collection's buffer) and, when output shapes are known before running, the backend writes straight
into the output collection's buffer; K > 1 events cost one gather copy in and one scatter copy out.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from k4mlinference.edm import tensor
from k4mlinference.edm.tensor import TensorError
from k4mlinference.inference.model import Model
from k4mlinference.inference.spec import ModelError, ModelInputError, ModelOutputError, ModelRunError, RowLocator


class InferenceEngine:
    """Runs a Model over lists of events, `batch_size` events per model call (<= 0: all at once)."""

    def __init__(
        self,
        model: Model,
        batch_size: int = 1,
        preprocess: bool = False,
        cast: bool = False,
        check: bool = True,
        inputs: list[str] | None = None,
    ) -> None:
        self.model = model
        # names fed from Tensor collections, in order: the required inputs, then any optional ones to override
        self.feed_names = list(inputs) if inputs else None
        self.batch_size = int(batch_size)
        self.preprocess = bool(preprocess and model.sidecar is not None and model.sidecar.preprocessing)
        self.cast = cast
        self.check = check
        self._warned_unsplittable = False
        self._warned_zero_rows = False
        self._batches_fail = False  # the model failed on several events at once: one event per call from then on
        self.calls = 0  # model calls made (tests check batching with it)
        self._fixed_for: Any = None
        self._fixed_value: int | None = None
        # outputs can be bound to the output collections' buffers (ONNX Runtime on CPU, no reshaping preprocessing)
        self._in_place = bool(model.backend.writes_into_outputs and not self.preprocess)

    @property
    def input_names(self) -> list[str]:
        return self.feed_names or self.model.input_names

    @property
    def output_names(self) -> list[str]:
        return self.model.output_names

    def _chunks(self, n: int) -> list[tuple[int, int]]:
        k = self.batch_size if self.batch_size > 0 else max(n, 1)
        return [(i, min(i + k, n)) for i in range(0, n, k)]

    # ------------------------------------------------------------------ the model call
    def _fixed_batch(self) -> int | None:
        specs = self.model.inputs
        if specs is not self._fixed_for:  # cached per spec list (torch/python specs are replaced, not mutated)
            fixed = {s.fixed_batch for s in specs if s.fixed_batch is not None}
            self._fixed_value = fixed.pop() if len(fixed) == 1 else None
            self._fixed_for = specs
        return self._fixed_value

    def _call(
        self, feeds: dict[str, Any], out: dict[str, np.ndarray] | None = None, locate: RowLocator | None = None
    ) -> dict[str, Any]:
        """One logical call on `rows` rows; split into the model's fixed batch size if it has one. `locate`
        maps a row to (event number, row in that event) for NaN messages."""
        if self.preprocess:
            feeds = self.model.sidecar.preprocess(feeds)
            out = None  # shapes may change
        if self.cast:
            feeds = self.model.cast(feeds)
        fixed = self._fixed_batch()
        rows = _rows(feeds)
        if fixed is None or rows is None or rows == fixed:
            self.calls += 1
            return self.model.run(feeds, out=out, check=self.check, locate=locate)
        if rows % fixed:
            raise ModelInputError(
                f"model {self.model.name}: its batch axis is fixed to {fixed} but {rows} rows were given "
                f"({rows} is not a multiple of {fixed})"
            )
        parts: list[dict[str, Any]] = []
        for b in range(0, rows, fixed):
            self.calls += 1
            part = {k: v[b : b + fixed] for k, v in feeds.items()}
            parts.append(self.model.run(part, check=self.check, locate=_shifted(locate, b)))
        res = {k: np.concatenate([np.asarray(p[k]) for p in parts]) for k in parts[0]}
        if out:
            for k, v in out.items():
                np.copyto(v, res[k].reshape(v.shape))
                res[k] = v
        return res

    # ------------------------------------------------------------------ numpy API
    def run_events(
        self, events: list[dict[str, Any]], event_numbers: list[int] | None = None
    ) -> list[dict[str, np.ndarray]]:
        """Per-event outputs for per-event inputs ({input name: array with the event's rows first}).
        `event_numbers`: the events' global numbers, for messages (default: their positions)."""
        numbers = _numbers(event_numbers, len(events))
        results: list[dict[str, np.ndarray]] = []
        for a, b in self._chunks(len(events)):
            results.extend(self._run_chunk([_numpy_feeds(e) for e in events[a:b]], numbers[a:b]))
        return results

    def run_event(self, feeds: dict[str, Any], event_number: int = 0) -> dict[str, np.ndarray]:
        """One event, no batching."""
        return self._run_chunk([_numpy_feeds(feeds)], [event_number])[0]

    def _run_chunk(self, events: list[dict[str, np.ndarray]], numbers: list[int]) -> list[dict[str, np.ndarray]]:
        names = self.model.input_names
        if events and self.model.optional_inputs:  # overrides of inputs with a default, as the events give them
            names = [*names, *(s.name for s in self.model.optional_inputs if s.name in events[0])]
        for i, e in enumerate(events):
            missing = [n for n in names if n not in e]
            if missing:
                raise _at(
                    ModelInputError(
                        f"model {self.model.name}: event {numbers[i]} lacks input(s) {missing}; inputs are {names}"
                    ),
                    numbers[i],
                )
        rows = [_event_rows(e, names) for e in events]
        if len(events) == 1:
            if rows[0] == 0:
                return [self._empty_outputs(events[0], None)]
            return [self._as_numpy(self._call_event(events[0], numbers[0]))]
        if self._batches_fail:
            return self._one_by_one(events, numbers, "")
        why = self._unbatchable_optional(names)
        if why:
            return self._one_by_one(events, numbers, why)
        if any(r is None for r in rows):
            return self._one_by_one(events, numbers, "inputs of one event have different row counts")
        for n in names:
            why = self._inner_shapes_differ(n, [np.shape(e[n])[1:] for e in events], numbers)
            if why:
                return self._one_by_one(events, numbers, why)
        live = [i for i, r in enumerate(rows) if r]
        results: list[dict[str, np.ndarray] | None] = [None] * len(events)
        if live:
            feeds = {n: _concat([events[i][n] for i in live]) for n in names}
            total = int(sum(rows[i] for i in live))
            try:
                out = self._as_numpy(self._call(feeds, locate=_locator(rows, numbers)))
            except ModelRunError as e:
                if len(live) == 1:
                    raise _at(e, numbers[live[0]]) from e.__cause__
                res = self._one_by_one(events, numbers, f"it fails on {len(live)} events at once: {_reason(e)}")
                self._batches_fail = True  # each event runs: the failure is the batch's (not set if one event fails)
                return res
            if any(v is None or v.ndim == 0 or v.shape[0] != total for v in out.values()):
                return self._one_by_one(events, numbers, "an output does not have the batch axis")
            bounds = np.cumsum([rows[i] for i in live])[:-1]
            split = {k: np.split(v, bounds) for k, v in out.items()}
            for j, i in enumerate(live):
                results[i] = {k: split[k][j] for k in out}
            template = out
        else:
            template = None
        for i, r in enumerate(rows):
            if not r:
                results[i] = self._empty_outputs(events[i], template)
        return results  # type: ignore[return-value]

    def _call_event(self, feeds: dict[str, Any], number: int, out: dict[str, np.ndarray] | None = None) -> dict:
        """`_call` on one event's rows; a runtime failure names the event (and carries it as `.event`)."""
        try:
            return self._call(feeds, out=out, locate=_locator(None, [number]))
        except ModelRunError as e:
            raise _at(ModelRunError(f"{e} (event {number})"), number) from e.__cause__

    def _warn_unsplittable(self, why: str) -> None:
        if not self._warned_unsplittable:
            warnings.warn(
                f"model {self.model.name}: cannot batch across events ({why}); running event by event",
                RuntimeWarning,
                stacklevel=4,
            )
            self._warned_unsplittable = True

    def _one_by_one(
        self, events: list[dict[str, np.ndarray]], numbers: list[int], why: str
    ) -> list[dict[str, np.ndarray]]:
        self._warn_unsplittable(why)
        return [
            self._empty_outputs(e, None) if _rows(e) == 0 else self._as_numpy(self._call_event(e, n))
            for e, n in zip(events, numbers)
        ]

    def _inner_shapes_differ(self, name: str, inner: list[tuple[int, ...]], numbers: list[int]) -> str | None:
        """None if every event gives input `name` the same per-row shape. If not: a ModelInputError naming the
        event when the model fixes a dim where they differ (no event order can feed that), else the reason
        to run event by event."""
        first = tuple(inner[0])
        bad = next((i for i, t in enumerate(inner) if tuple(t) != first), None)
        if bad is None:
            return None
        spec = next((s for s in [*self.model.inputs, *self.model.optional_inputs] if s.name == name), None)
        want = spec.shape[1:] if spec is not None and spec.shape is not None else None
        if want is not None and all(len(t) == len(want) for t in inner):
            for i, t in enumerate(inner):
                wrong = [a for a, (d, g) in enumerate(zip(want, t)) if isinstance(d, int) and d != g]
                if wrong:
                    ref = next((j for j, u in enumerate(inner) if tuple(u) != tuple(t)), 0)
                    raise _at(
                        ModelInputError(
                            f"model {self.model.name}: input '{name}': event {numbers[i]} has per-row shape "
                            f"{tuple(t)} but event {numbers[ref]} has {tuple(inner[ref])} (the model wants "
                            f"[{', '.join('?' if d is None else str(d) for d in want)}] after the batch axis)"
                        ),
                        numbers[i],
                    )
        elif want is not None:
            i = next(i for i, t in enumerate(inner) if len(t) != len(want))
            raise _at(
                ModelInputError(
                    f"model {self.model.name}: input '{name}': event {numbers[i]} has per-row shape {tuple(inner[i])} "
                    f"but the model wants rank {len(want) + 1}; {spec}"
                ),
                numbers[i],
            )
        return (
            f"input '{name}' has per-row shape {first} in event {numbers[0]} and {tuple(inner[bad])} "
            f"in event {numbers[bad]}"
        )

    def _unbatchable_optional(self, names: list[str]) -> str | None:
        """Why optional inputs fed among `names` cannot be concatenated across events (a default-valued
        input such as a scale [1] has no batch axis unless its leading dim is the inputs' batch dim); None
        if they can."""
        optional = self.model.optional_inputs
        if not optional or len(names) == len(self.model.inputs):
            return None
        batch = {s.shape[0] for s in self.model.inputs if s.shape and isinstance(s.shape[0], str)}
        for spec in optional:
            if spec.name in names and not (spec.shape and isinstance(spec.shape[0], str) and spec.shape[0] in batch):
                return f"optional input '{spec.name}' {spec.shape_str()} has no batch axis"
        return None

    def _static_empty(self) -> dict[str, tuple[tuple[int, ...], np.dtype]] | None:
        """{output: (inner shape, dtype)} when the contract fixes every output of a zero-row call: each output's
        leading dim is the inputs' (named) batch dim, or the model's fixed batch size, and its other dims are
        fixed. None when only running the model can tell."""
        batch = {s.shape[0] for s in self.model.inputs if s.shape and isinstance(s.shape[0], str)}
        fixed = self._fixed_batch()
        shapes = {}
        for spec in self.model.outputs:
            if not spec.shape or spec.dtype is None or not all(isinstance(d, int) for d in spec.shape[1:]):
                return None
            b = spec.shape[0]
            if not ((isinstance(b, str) and b in batch) or (fixed is not None and b == fixed)):
                return None
            shapes[spec.name] = (tuple(spec.shape[1:]), spec.dtype)
        return shapes

    def _empty_outputs(
        self, event: dict[str, np.ndarray], template: dict[str, np.ndarray] | None
    ) -> dict[str, np.ndarray]:
        """Outputs of an event (or block) with zero rows: like `template` (the outputs of a batch of events) or
        the contract with zero rows where they fix them; otherwise computed by the model on the zero-row inputs.
        A model that refuses zero rows is run once on one row of zeros, and the outputs get its shapes with zero
        rows (a warning once)."""
        if template is not None:
            return {k: (None if t is None else np.zeros((0, *t.shape[1:]), t.dtype)) for k, t in template.items()}
        static = self._static_empty()
        if static is not None:
            return {k: np.zeros((0, *inner), dt) for k, (inner, dt) in static.items()}
        try:
            return self._as_numpy(self._call(event))
        except (ModelInputError, ModelOutputError):  # the contract, not zero rows: as for any event
            raise
        except Exception as e:
            refused = e
        probe = {k: np.zeros((1, *np.shape(v)[1:]), np.asarray(v).dtype) for k, v in event.items()}
        try:
            if self.preprocess:
                probe = self.model.sidecar.preprocess(probe)
            if self.cast:
                probe = self.model.cast(probe)
            shapes = self._as_numpy(self.model.backend.run(probe))
        except Exception as e:
            raise ModelError(
                f"model {self.model.name}: an event has zero rows, which the model refuses "
                f"({_reason(refused)}), and one row of zeros does not run either ({_reason(e)})"
            ) from refused
        if not self._warned_zero_rows:
            warnings.warn(
                f"model {self.model.name}: the model refuses zero-row inputs ({_reason(refused)}); events with zero "
                f"rows get zero-row outputs shaped like those of one row",
                RuntimeWarning,
                stacklevel=4,
            )
            self._warned_zero_rows = True
        return {
            k: (None if v is None else np.zeros((0, *v.shape[1:]) if v.ndim else (0,), v.dtype))
            for k, v in shapes.items()
        }

    @staticmethod
    def _as_numpy(res: dict[str, Any]) -> dict[str, np.ndarray]:
        return {k: (None if v is None else np.asarray(v)) for k, v in res.items()}

    # ------------------------------------------------------------------ Tensor collections
    def run_collections(self, events: list[list[Any]], event_numbers: list[int] | None = None) -> list[list[Any]]:
        """Per-event output Tensor collections (one per model output, in model order) for per-event
        input Tensor collections (one per model input, in model order, then the optional inputs named in
        `inputs`; tensor 0 of each is used). `event_numbers`: the events' global numbers, which errors
        name (default: their positions); an error about one event carries its number as `.event`."""
        names = self.input_names
        for i, e in enumerate(events):
            if len(e) != len(names):
                n = _numbers(event_numbers, len(events))[i]
                raise _at(
                    ModelInputError(
                        f"model {self.model.name}: event {n} gives {len(e)} input Tensor collection(s) "
                        f"but the model has {len(names)} input(s) {names}"
                    ),
                    n,
                )
        by_input = [[e[j] for e in events] for j in range(len(names))]
        return [list(per_event) for per_event in zip(*self.run_columns(by_input, event_numbers))]

    def run_columns(self, by_input: list[list[Any]], event_numbers: list[int] | None = None) -> list[list[Any]]:
        """`run_collections` by column, as the event loop holds a block: `by_input[j][i]` is input j's
        collection in event i; returns `by_output[k][i]`, output k's new collection for event i. No
        per-event Python work besides handing over the output collections."""
        n_events = len(by_input[0]) if by_input else 0
        if not n_events:
            return [[] for _ in self.model.output_names]
        numbers = _numbers(event_numbers, n_events)
        if n_events <= self.batch_size or self.batch_size <= 0:  # the event loop's usual call: one block
            return self._run_column_chunk(by_input, numbers)
        outs: list[list[Any]] = []
        for a, b in self._chunks(n_events):
            part = self._run_column_chunk([col[a:b] for col in by_input], numbers[a:b])
            outs = part if not outs else [o + p for o, p in zip(outs, part)]
        return outs

    def _run_column_chunk(self, by_input: list[list[Any]], numbers: list[int]) -> list[list[Any]]:
        names = self.input_names
        if len(by_input) != len(names):
            raise ModelInputError(
                f"model {self.model.name}: {len(by_input)} input Tensor collection(s) per event but the model has "
                f"{len(names)} input(s) {names}"
            )
        if len(numbers) == 1:
            return [[c] for c in self._run_single_collections([col[0] for col in by_input], numbers[0])]
        infos = [self._describe_input(name, col, numbers) for name, col in zip(names, by_input)]
        rows_by_input = np.stack([info[:, tensor.SHAPE] for info in infos])  # [n_in, n_events]
        if self._batches_fail:
            return self._columns_one_by_one(by_input, numbers, "")
        why = self._unbatchable_optional(names)
        if why:
            return self._columns_one_by_one(by_input, numbers, why)
        if not (rows_by_input == rows_by_input[0]).all():
            return self._columns_one_by_one(by_input, numbers, "inputs of one event have different row counts")
        rows = rows_by_input[0]
        for name, info in zip(names, infos):
            rank = int(info[0, tensor.RANK])
            inner = info[:, tensor.SHAPE + 1 : tensor.SHAPE + rank]
            if (inner == inner[0]).all():
                continue
            why = self._inner_shapes_differ(name, [tuple(r) for r in inner.tolist()], numbers)
            if why:
                return self._columns_one_by_one(by_input, numbers, why)
        feeds = {name: self._gathered(name, info, rows, numbers) for name, info in zip(names, infos)}
        total = int(rows.sum())
        if total:
            try:
                res = self._as_numpy(self._call(feeds, locate=_locator(rows, numbers)))
            except ModelRunError as e:
                live = np.flatnonzero(rows)
                if len(live) == 1:
                    raise _at(e, numbers[int(live[0])]) from e.__cause__
                why = f"it fails on {len(live)} events at once: {_reason(e)}"
                res_cols = self._columns_one_by_one(by_input, numbers, why)
                self._batches_fail = True  # each event runs: the failure is the batch's (not set if one event fails)
                return res_cols
            if any(v is None or v.ndim == 0 or v.shape[0] != total for v in res.values()):
                return self._columns_one_by_one(by_input, numbers, "an output does not have the batch axis")
        else:
            res = self._empty_outputs(feeds, None)
            if any(v is not None and (v.ndim == 0 or v.shape[0] != 0) for v in res.values()):
                return self._columns_one_by_one(by_input, numbers, "an output does not have the batch axis")
        return [tensor.scatter_new(tensor.storable(arr), rows) for arr in res.values()]

    def _describe_input(self, name: str, colls: list[Any], numbers: list[int]) -> np.ndarray:
        """Validated `tensor.describe_many` rows of one input over the events of a block."""
        info = tensor.describe_many(colls)
        bad = np.flatnonzero(info[:, tensor.STATUS])
        if len(bad):
            n = numbers[int(bad[0])]
            try:
                tensor.check(info[bad[0]], f"model {self.model.name}: input '{name}' of event {n}")
            except TensorError as e:
                raise _at(e, n) from None
        if len(set(info[:, tensor.ELEMENT_TYPE].tolist())) > 1:
            raise TensorError(f"model {self.model.name}: input '{name}': element types differ between events")
        ranks = set(info[:, tensor.RANK].tolist())
        if len(ranks) > 1 or 0 in ranks:
            raise ModelInputError(
                f"model {self.model.name}: input '{name}': every event needs a tensor of the same rank >= 1 "
                f"(rows first); ranks given: {sorted(ranks)}"
            )
        return info

    def _gathered(self, name: str, info: np.ndarray, rows: np.ndarray, numbers: list[int]) -> np.ndarray:
        """One input of the whole block: the rows of every event one after the other (one copy), or the
        buffer of the only event that has rows (no copy)."""
        rank = int(info[0, tensor.RANK])
        inner = info[:, tensor.SHAPE + 1 : tensor.SHAPE + rank]  # the same in every event (checked before)
        etype = int(info[0, tensor.ELEMENT_TYPE])
        live = np.flatnonzero(rows)
        if len(live) == 1:
            row = info[int(live[0])]
            return tensor.array_at(
                int(row[tensor.ADDRESS]), etype, tuple(row[tensor.SHAPE : tensor.SHAPE + rank].tolist())
            )
        buf = np.empty((int(rows.sum()), *inner[0].tolist()), tensor.dtype_of(etype))
        tensor.gather(info, buf)
        return buf

    def _columns_one_by_one(self, by_input: list[list[Any]], numbers: list[int], why: str) -> list[list[Any]]:
        self._warn_unsplittable(why)
        per_event = [self._run_single_collections(list(ev), n) for ev, n in zip(zip(*by_input), numbers)]
        return [list(col) for col in zip(*per_event)]

    def _run_single_collections(self, colls: list[Any], index: int) -> list[Any]:
        """One event: inputs are views of the collections (no copy); outputs written in place when possible."""
        feeds = {}
        for n, c in zip(self.input_names, colls):
            try:
                feeds[n] = tensor.view(c, "")
            except TensorError as e:  # name the model, input and event (formatted only on failure)
                raise _at(TensorError(f"model {self.model.name}: input '{n}' of event {index}: {e}"), index) from None
        rows = _rows(feeds)
        if rows == 0:
            res = self._empty_outputs(feeds, None)
        else:
            bufs = self._output_buffers(feeds, rows)
            if bufs is not None:
                colls_out, targets = bufs
                res = self._call_event(feeds, index, out=targets)  # the backend writes into the collections' buffers
                if all(res.get(k) is v for k, v in targets.items()):
                    return colls_out
                # the backend's outputs did not have the planned shapes: store what it returned instead
            else:
                res = self._call_event(feeds, index)
            res = self._as_numpy(res)
        out_colls = []
        for v in res.values():
            c = tensor.empty_collection()
            if v is not None:
                v = tensor.storable(v)
                v = v.reshape(1) if v.ndim == 0 else v
                tensor.scatter([c], v, np.array([v.shape[0]]))
            out_colls.append(c)
        return out_colls

    def _output_buffers(self, feeds: dict[str, np.ndarray], rows: int | None):
        """(output collections, {name: view of each one's pre-sized tensor}) when the backend writes in place
        and every output's shape and Tensor dtype are known before running; None otherwise."""
        if not self._in_place or self._fixed_batch() not in (None, rows):
            return None
        shapes = self.model.backend.planned_output_shapes(feeds)
        specs = self.model.outputs
        if shapes is None or any(s.dtype not in tensor.DTYPES.values() for s in specs):
            return None
        made = [tensor.new_emplaced(shapes[s.name], s.dtype) for s in specs]
        return [c for c, _ in made], {s.name: view for s, (_, view) in zip(specs, made)}


def _reason(e: BaseException) -> str:
    """An error's message without its leading 'model FILE: ' (the caller's message names the model)."""
    text = str(e)
    if isinstance(e, ModelError) and text.startswith("model ") and ": " in text:
        return text.split(": ", 1)[1]
    return text


def _numpy_feeds(e: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.detach().cpu().numpy() if hasattr(v, "detach") else v) for k, v in e.items()}


def _rows(feeds: dict[str, Any]) -> int | None:
    rows = {int(v.shape[0]) for v in feeds.values() if getattr(v, "ndim", 0) >= 1}
    return rows.pop() if len(rows) == 1 else None


def _event_rows(e: dict[str, Any], names: list[str]) -> int | None:
    rows = {int(np.shape(e[n])[0]) if np.ndim(e[n]) else -1 for n in names}
    if len(rows) != 1 or -1 in rows:
        return None
    return rows.pop()


def _concat(arrays: list[np.ndarray]) -> np.ndarray:
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays, axis=0)


def _numbers(event_numbers: list[int] | None, n: int) -> list[int]:
    """The events' global numbers when the caller knows them, else their positions."""
    if event_numbers is not None and len(event_numbers) == n:
        return [int(k) for k in event_numbers]
    return list(range(n))


def _at(err: Exception, event: int) -> Exception:
    """`err`, tagged with the global number of the event it is about (MLInference reports it)."""
    err.event = event  # type: ignore[attr-defined]
    return err


def _locator(rows: Any, numbers: list[int]) -> RowLocator:
    """Row of the rows given to the model -> (event number, row in that event). `rows`: the per-event
    row counts of a concatenated block (zero-row events included); None: a single event. The cumulative
    sum is taken only when a message needs it."""

    def locate(row: int) -> tuple[int, int]:
        if rows is None:
            return numbers[0], row
        ends = np.cumsum(rows)
        i = int(np.searchsorted(ends, row, side="right"))
        return numbers[i], int(row - (ends[i] - rows[i]))

    return locate


def _shifted(locate: RowLocator | None, offset: int) -> RowLocator | None:
    """`locate` for a slice of the rows that starts at `offset` (fixed-batch models)."""
    if locate is None:
        return None
    return lambda row: locate(row + offset)
