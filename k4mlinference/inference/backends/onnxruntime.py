"""ONNX Runtime: one InferenceSession per model, run through IO binding.

Inputs are bound where they lie (numpy buffers, or torch tensors through DLPack), so the runtime
reads the caller's memory; outputs are bound to the caller's buffers (e.g. an output Tensor
collection's data) when their shapes are known before running, so the runtime writes there.

Output shapes are planned from the model's declared dims (fixed, or named like an input dim). A
model may declare names that mislead, so the plan is trusted (and offered to callers through
`planned_output_shapes`) only after one call has confirmed it: the first call lets ONNX Runtime
allocate and compares; a plan that disagrees is dropped for good. Buffers a caller passes in `out`
are bound as given.

The binding is the public `InferenceSession.io_binding()` API. On CPU the same calls are made on
onnxruntime's compiled layer when it has the expected shape (`native_binding`, one function below):
benchmarks/bench_inference.py measures both, and the Python wrappers cost ~15 us per call, as much
as a small model's inference for one event.

Model kinds: graph inputs that are also initializers (IR >= 4) are `optional_inputs` (fed only when
given; a thread's binding is rebuilt when the set of fed inputs changes, so an override does not
stick). ZipMap outputs (`seq(map(int64|string, float))`, sklearn/onnxmltools classifiers) become
[rows, classes] float32 arrays with the labels in `output_classes` (read from the file with the
`onnx` package when installed, else from the first call); such models, and models with string
inputs (numpy str or object arrays), run through `session.run`, since IO binding takes neither.
Failures inside the runtime are `ModelRunError`s naming the file and the inputs fed.

Threads: inside a framework the runtime must not start its own pool per session (every process
would spawn one thread per core per session): intra/inter-op threads come from the options
(MLInference passes 1/1).
"""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from k4mlinference.inference.backends.base import Backend
from k4mlinference.inference.backends.providers import ORT_GPU_PROVIDERS, onnxruntime_providers
from k4mlinference.inference.spec import (
    ModelError,
    ModelLoadError,
    ModelRunError,
    TensorSpec,
    describe_feeds,
    normalize_dim,
    runtime_reason,
)

ONNX_SUFFIXES = (".onnx", ".ort")

_ORT_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int16)": np.int16,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(uint16)": np.uint16,
    "tensor(uint32)": np.uint32,
    "tensor(uint64)": np.uint64,
    "tensor(bool)": np.bool_,
    "tensor(string)": np.object_,
}
_MAP_OUTPUT = re.compile(r"^seq\(map\((int64|string),\s*tensor\((float|double)\)\)\)$")


@dataclass(frozen=True)
class Binding:
    """One thread's IO binding of a session, as the few operations the run path needs."""

    bind_input: Callable[[str, np.ndarray], Any]  # bind a C-contiguous array; returns the bound OrtValue
    bind_value: Callable[[str, Any], None]  # bind an onnxruntime.OrtValue (DLPack-shared tensors)
    bind_output: Callable[[str, np.ndarray], None]  # the runtime writes this output into the array
    allocate_output: Callable[[str], None]  # the runtime allocates this output on the session's device
    run: Callable[[], None]
    outputs: Callable[[], list[Any]]  # OrtValues of the last run (data_ptr(), is_tensor(), numpy())
    outputs_on_host: Callable[[], list[np.ndarray]]  # the same, copied to the CPU


def public_binding(ort: Any, session: Any, device: str) -> Binding:
    """IO binding through onnxruntime's public Python API (any device)."""
    b = session.io_binding()

    def bind_input(name: str, arr: np.ndarray) -> Any:
        ov = ort.OrtValue.ortvalue_from_numpy(arr)
        b.bind_ortvalue_input(name, ov)
        return ov

    def bind_output(name: str, arr: np.ndarray) -> None:
        b.bind_output(name, "cpu", 0, arr.dtype, list(arr.shape), arr.ctypes.data)

    return Binding(
        bind_input=bind_input,
        bind_value=b.bind_ortvalue_input,
        bind_output=bind_output,
        allocate_output=lambda name: b.bind_output(name, device),
        run=lambda: session.run_with_iobinding(b),
        outputs=b.get_outputs,
        outputs_on_host=b.copy_outputs_to_cpu,
    )


def native_binding(session: Any) -> Binding | None:
    """The same binding on onnxruntime's compiled layer (`capi._pybind_state`, CPU only), skipping the
    Python wrappers; None when that layer is not as expected (the caller then uses `public_binding`).
    The only place that touches onnxruntime's private API."""
    try:
        from onnxruntime.capi import _pybind_state as capi

        sess = session._sess
        cpu = capi.OrtDevice(capi.OrtDevice.cpu(), capi.OrtDevice.default_memory(), 0)
        b = capi.SessionIOBinding(sess)
        run_options = capi.RunOptions()
        wrap = capi.OrtValue.ortvalue_from_numpy
    except (ImportError, AttributeError, TypeError):
        return None

    def bind_input(name: str, arr: np.ndarray) -> Any:
        ov = wrap(arr, cpu)
        b.bind_ortvalue_input(name, ov)
        return ov

    def outputs_on_host() -> list[np.ndarray]:
        return [v.numpy() for v in b.get_outputs()]

    return Binding(
        bind_input=bind_input,
        bind_value=lambda name, ov: b.bind_ortvalue_input(name, ov._ortvalue),
        bind_output=lambda name, arr: b.bind_ortvalue_output(name, wrap(arr, cpu)),
        allocate_output=lambda name: b.bind_output(name, cpu),
        run=lambda: sess.run_with_iobinding(b, run_options),
        outputs=b.get_outputs,
        outputs_on_host=outputs_on_host,
    )


class OnnxRuntimeBackend(Backend):
    """An onnxruntime InferenceSession; inputs bound without copy, outputs bound to caller buffers."""

    kind = "onnxruntime"

    def __init__(
        self,
        path: str | Path,
        intra_op_threads: int = 1,
        inter_op_threads: int = 1,
        device: str = "cpu",
        providers: list[Any] | None = None,
        graph_optimization: str = "all",
        native_binding: bool = True,
        **_ignored: Any,
    ) -> None:
        super().__init__(str(path))
        import onnxruntime as ort

        self._ort = ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = int(intra_op_threads)
        so.inter_op_num_threads = int(inter_op_threads)
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = {
            "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }[graph_optimization.lower()]
        self.providers = onnxruntime_providers(device, providers, self.name)
        try:
            self.session = ort.InferenceSession(str(path), sess_options=so, providers=self.providers)
        except Exception as e:  # onnxruntime raises its own Fail/InvalidProtobuf/... types
            raise ModelLoadError(
                f"model {path}: onnxruntime cannot load it: {type(e).__name__}: {runtime_reason(e)}"
            ) from e
        used = self.session.get_providers()
        self.device = "cuda" if any(p in used for p in ORT_GPU_PROVIDERS) else "cpu"
        self._ort_device = "cuda" if self.device == "cuda" else "cpu"
        self.inputs = [self._spec(a) for a in self.session.get_inputs()]
        # graph inputs with an initializer (IR >= 4): the default is used unless the caller feeds them
        self.optional_inputs = [self._spec(a) for a in self.session.get_overridable_initializers()]
        # ZipMap outputs (seq(map(int64|string, float)), what skl2onnx/onnxmltools classifiers add): returned as
        # a [rows, classes] float32 tensor, columns in the order of `output_classes[name]` (the class labels)
        outs = self.session.get_outputs()
        self._map_outputs = {a.name for a in outs if _MAP_OUTPUT.match(a.type.replace(" ", ""))}
        self.output_classes: dict[str, list[Any]] = _zipmap_labels(str(path), self._map_outputs)
        # other non-tensor outputs (e.g. a sequence of tensors) cannot become Tensors: they are left out of the
        # contract and never computed, with a warning (EICrecon skips them too)
        kept = [a for a in outs if a.type.startswith("tensor(") or a.name in self._map_outputs]
        self.skipped_outputs = [f"{a.name} ({a.type})" for a in outs if a not in kept]
        if self.skipped_outputs:
            warnings.warn(
                f"model {path}: non-tensor output(s) {self.skipped_outputs} are skipped; only tensor outputs are returned",
                RuntimeWarning,
                stacklevel=3,
            )
        self.outputs = [self._map_spec(a) if a.name in self._map_outputs else self._spec(a) for a in kept]
        if not self.outputs:
            raise ModelLoadError(f"model {path}: no tensor outputs (only {self.skipped_outputs})")
        self._output_names = [o.name for o in self.outputs]
        meta = self.session.get_modelmeta()
        self.metadata = {
            "producer_name": meta.producer_name,
            "graph_name": meta.graph_name,
            "domain": meta.domain,
            "description": meta.description,
            "graph_description": getattr(meta, "graph_description", ""),
            "version": meta.version,
            "custom": dict(meta.custom_metadata_map),
            "providers": used,
            "skipped_outputs": self.skipped_outputs,
        }
        self._out_plan = self._output_plan()
        self._plan_confirmed: bool | None = None  # None: not yet checked against a real call
        # maps (outputs) and strings (inputs) do not go through IO binding: session.run, nothing written in place
        strings = any(s.dtype is not None and s.dtype.kind == "O" for s in [*self.inputs, *self.optional_inputs])
        self._plain_run = bool(self._map_outputs) or strings
        if self._plain_run:
            self._out_plan = [None] * len(self.outputs)
            self._plan_confirmed = False
        self.native_binding = bool(native_binding) and self._ort_device == "cpu"
        self._tls = threading.local()  # one binding per thread (a binding is not thread-safe)

    def _output_plan(self) -> list[list[tuple[str, Any]] | None]:
        """Per output, how to know its shape before running: each dim fixed, or equal to a named input dim."""
        where: dict[str, tuple[str, int]] = {}
        for spec in self.inputs:
            for axis, d in enumerate(spec.shape or ()):
                if isinstance(d, str):
                    where.setdefault(d, (spec.name, axis))
        plans: list[list[tuple[str, Any]] | None] = []
        for spec in self.outputs:
            if spec.shape is None or spec.dtype is None:
                plans.append(None)
                continue
            plan: list[tuple[str, Any]] | None = []
            for d in spec.shape:
                if isinstance(d, int):
                    plan.append(("fixed", d))
                elif isinstance(d, str) and d in where:
                    plan.append(("input", where[d]))
                else:
                    plan = None
                    break
            plans.append(plan)
        return plans

    def set_specs(self, inputs: list[TensorSpec] | None, outputs: list[TensorSpec] | None) -> None:
        """An ONNX file carries its own contract; a sidecar's specs do not replace it."""

    def planned_output_shapes(self, feeds: dict[str, Any]) -> dict[str, tuple[int, ...]] | None:
        if not self._plan_confirmed:
            return None
        shapes = {}
        for k, o in enumerate(self._output_names):
            shape = self._planned_shape(k, feeds)
            if shape is None:
                return None
            shapes[o] = shape
        return shapes

    def _planned_shape(self, k: int, feeds: dict[str, Any]) -> tuple[int, ...] | None:
        plan = self._out_plan[k]
        if plan is None:
            return None
        shape = []
        for kind, v in plan:
            if kind == "fixed":
                shape.append(v)
            else:
                shape.append(int(feeds[v[0]].shape[v[1]]))
        return tuple(shape)

    @staticmethod
    def _spec(arg: Any) -> TensorSpec:
        shape = arg.shape
        dtype = _ORT_TYPES.get(arg.type)
        return TensorSpec(
            arg.name,
            None if shape is None else tuple(normalize_dim(d) for d in shape),
            None if dtype is None else np.dtype(dtype),
            doc=arg.type,
        )

    def _map_spec(self, arg: Any) -> TensorSpec:
        labels = self.output_classes.get(arg.name)
        batch = next((s.shape[0] for s in self.inputs if s.shape), None)
        return TensorSpec(
            arg.name, (batch, None if labels is None else len(labels)), np.dtype(np.float32), doc=arg.type
        )

    @property
    def writes_into_outputs(self) -> bool:
        return self._ort_device == "cpu" and self._plan_confirmed is not False

    @property
    def uses_native_binding(self) -> bool:
        """Whether this thread's calls go through `native_binding` (False: the public API)."""
        self.binding()
        return self._tls.is_native

    def binding(self) -> Binding:
        """This thread's binding: native where asked for and available, public otherwise."""
        tls = self._tls
        if getattr(tls, "native", None) is not self.native_binding:
            b = native_binding(self.session) if self.native_binding else None
            tls.binding = b or public_binding(self._ort, self.session, self._ort_device)
            tls.native = self.native_binding
            tls.is_native = b is not None
        return tls.binding

    def run(self, feeds: dict[str, Any], out: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
        """Run with every input bound in place and outputs written into `out` (or planned buffers) where
        their shapes are trusted; other outputs are allocated by the runtime and copied out once."""
        try:
            if self._plain_run:
                return self._run_plain(feeds, out)
            return self._run_bound(feeds, out)
        except ModelError:
            raise
        except Exception as e:  # onnxruntime's Fail/InvalidArgument/RuntimeException...: name the file and the feeds
            raise ModelRunError(
                f"model {self.name}: onnxruntime failed on inputs {describe_feeds(feeds)}: {runtime_reason(e)}"
            ) from e

    def _run_plain(self, feeds: dict[str, Any], out: dict[str, np.ndarray] | None) -> dict[str, Any]:
        """session.run (models with ZipMap outputs or string inputs): maps become [rows, classes] float32 arrays."""
        arrays = {k: (v.detach().cpu().numpy() if hasattr(v, "detach") else v) for k, v in feeds.items()}
        values = self.session.run(self._output_names, arrays)
        result: dict[str, Any] = {}
        copied = list(self._output_names)
        for o, v in zip(self._output_names, values):
            if o in self._map_outputs:
                v = self._map_to_array(o, v)
            target = (out or {}).get(o)
            if target is not None:
                np.copyto(target, np.asarray(v).reshape(target.shape), casting="same_kind")
                v = target
            result[o] = v
        self.last_run = {"inputs": {}, "outputs": {}, "copied": copied}
        return result

    def _map_to_array(self, name: str, rows: list[dict[Any, float]]) -> np.ndarray:
        labels = self.output_classes.get(name)
        if labels is None and rows:  # the labels were not readable from the file: the first call's keys, in order
            labels = self.output_classes[name] = list(rows[0])
            self.outputs = [
                TensorSpec(s.name, (s.shape[0], len(labels)), s.dtype, doc=s.doc) if s.name == name else s
                for s in self.outputs
            ]
        labels = labels or []
        arr = np.empty((len(rows), len(labels)), np.float32)
        for i, row in enumerate(rows):
            try:
                arr[i] = [row[c] for c in labels]
            except KeyError as e:
                raise ModelError(
                    f"model {self.name}: output '{name}' row {i} lacks class {e}; classes {labels}"
                ) from None
        return arr

    def _run_bound(self, feeds: dict[str, Any], out: dict[str, np.ndarray] | None) -> dict[str, Any]:
        binding = self.binding()
        if self.optional_inputs:  # a binding keeps its inputs: an optional input fed before must not stay bound
            names = frozenset(feeds)
            if getattr(self._tls, "fed", names) != names:
                self._tls.native = None
                binding = self.binding()
            self._tls.fed = names
        copied: list[str] = []
        in_ptrs: dict[str, int] = {}
        keep = []  # what the bound inputs point into, alive until the run is over
        for name, arr in feeds.items():
            if not isinstance(arr, np.ndarray) and hasattr(arr, "__dlpack__"):  # torch tensor
                arr = arr.detach()
                if not arr.is_contiguous():
                    arr = arr.contiguous()
                    copied.append(name)
                if arr.device.type == "cpu":
                    arr = arr.numpy()  # shares memory
                else:
                    ov = _ortvalue_from_dlpack(self._ort, arr)
                    binding.bind_value(name, ov)
                    keep.append((arr, ov))
                    in_ptrs[name] = ov.data_ptr()
                    continue
            if not arr.flags.c_contiguous:
                arr = np.ascontiguousarray(arr)
                copied.append(name)
            ov = binding.bind_input(name, arr)
            keep.append((arr, ov))
            in_ptrs[name] = ov.data_ptr()
        on_cpu = self._ort_device == "cpu"
        trusted = self._plan_confirmed is True and on_cpu
        targets: list[np.ndarray | None] = []
        for k, o in enumerate(self._output_names):
            target = out.get(o) if out and on_cpu else None  # the caller's buffer: bound as given
            if target is None and trusted:
                shape = self._planned_shape(k, feeds)
                target = None if shape is None else np.empty(shape, self.outputs[k].dtype)
            if target is None:
                binding.allocate_output(o)
            elif not target.flags.c_contiguous:
                raise ModelError(f"model {self.name}: output buffer for '{o}' must be C-contiguous")
            else:
                binding.bind_output(o, target)
            targets.append(target)
        binding.run()
        values = binding.outputs()
        host = None if on_cpu else binding.outputs_on_host()  # device outputs: one copy
        result: dict[str, Any] = {}
        out_ptrs: dict[str, int] = {}
        for k, (o, ov) in enumerate(zip(self._output_names, values)):
            if not ov.is_tensor():
                result[o], out_ptrs[o] = None, 0  # e.g. the sequence of maps a CatBoost/sklearn exporter adds
                continue
            out_ptrs[o] = ov.data_ptr()  # where the runtime's output lies, as onnxruntime reports it
            if targets[k] is not None:
                result[o] = targets[k]
                continue
            arr = ov.numpy() if host is None else host[k]
            copied.append(o)
            target = (out or {}).get(o)
            if target is not None:  # a device output for the caller's host buffer
                np.copyto(target, arr.reshape(target.shape))
                arr = target
            result[o] = arr
        if self._plan_confirmed is None and self._ort_device == "cpu":
            self._confirm_plan(feeds, result)
        self.last_run = {"inputs": in_ptrs, "outputs": out_ptrs, "copied": copied}
        return result

    def _confirm_plan(self, feeds: dict[str, Any], result: dict[str, Any]) -> None:
        """Trust the planned output shapes from now on if this call's outputs have them; drop them if not."""
        for k, o in enumerate(self._output_names):
            shape = self._planned_shape(k, feeds)
            if shape is not None and (result[o] is None or tuple(result[o].shape) != shape):
                self._out_plan = [None] * len(self._out_plan)
                self._plan_confirmed = False
                return
        self._plan_confirmed = True


def _zipmap_labels(path: str, names: set[str]) -> dict[str, list[Any]]:
    """Class labels of the ZipMap nodes that make outputs `names`, read with the `onnx` package when it is
    installed ({} otherwise: the labels are then taken from the first call's maps)."""
    if not names:
        return {}
    try:
        import onnx

        proto = onnx.load(path, load_external_data=False)
    except Exception:  # no onnx package, or a file only onnxruntime reads (.ort)
        return {}
    labels: dict[str, list[Any]] = {}
    for node in proto.graph.node:
        if node.op_type == "ZipMap" and node.output and node.output[0] in names:
            for a in node.attribute:
                if a.name == "classlabels_int64s":
                    labels[node.output[0]] = [int(v) for v in a.ints]
                elif a.name == "classlabels_strings":
                    labels[node.output[0]] = [v.decode() for v in a.strings]
    return labels


def _ortvalue_from_dlpack(ort: Any, tensor: Any) -> Any:
    """OrtValue sharing a torch tensor's memory (the DLPack entry point changed across onnxruntime versions)."""
    try:
        return ort.OrtValue.from_dlpack(tensor)
    except TypeError:  # older onnxruntime: (capsule, is_bool_tensor)
        import torch

        return ort.OrtValue.from_dlpack(tensor.__dlpack__(), tensor.dtype == torch.bool)
