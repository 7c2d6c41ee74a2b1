"""Inference backends behind one interface: ONNX Runtime, torch and plain Python callables.

Every backend exposes `inputs`/`outputs` (TensorSpecs), `metadata` (dict) and
`run(feeds, out=None) -> {name: array}`. `out` optionally maps output names to pre-allocated,
C-contiguous numpy arrays (e.g. views of an output Tensor collection's buffer); a backend writes
into them directly where it can (ONNX Runtime IO binding) and copies once otherwise (torch,
callables). Whether a given call copied is recorded in `last_run` so the zero-copy claims can
be tested rather than believed.

Threads: inside a framework the backend must not start its own pool per session (every process
would spawn one thread per core per session). ONNX Runtime gets intra/inter-op threads from
the options (MLInference passes 1/1); torch's thread count is process-wide, so it is only set
when asked for explicitly.
"""

from __future__ import annotations

import importlib
import inspect
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from k4mlinference.inference.spec import (
    ModelError,
    ModelLoadError,
    ModelNotFoundError,
    TensorSpec,
    normalize_dim,
)

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
}

ONNX_SUFFIXES = (".onnx", ".ort")
TORCHSCRIPT_SUFFIXES = (".pt", ".pth", ".ts", ".torchscript", ".jit")
EXPORT_SUFFIXES = (".pt2",)


class Backend:
    """Common interface. Subclasses fill `inputs`, `outputs`, `metadata` and implement `_run`."""

    kind = "?"

    def __init__(self, name: str) -> None:
        self.name = name  # the model file (or callable) for messages
        self.inputs: list[TensorSpec] = []
        self.outputs: list[TensorSpec] = []
        self.metadata: dict[str, Any] = {}
        self.device = "cpu"
        # diagnostics of the last call (from any thread, when shared): {"inputs": {name: address the runtime
        # read}, "outputs": {name: address it wrote}, "copied": [names of tensors copied on the way]}
        self.last_run: dict[str, Any] = {}

    @property
    def writes_into_outputs(self) -> bool:
        """True if `run(out=...)` makes the runtime write into the given arrays (no copy)."""
        return False

    def planned_output_shapes(self, feeds: dict[str, Any]) -> dict[str, tuple[int, ...]] | None:
        """Output shapes known from the input shapes before running, if the backend can tell."""
        return None

    def run(self, feeds: dict[str, Any], out: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the runtime's resources (sessions are shared; the service calls this)."""


# ---------------------------------------------------------------------------------------- ONNX Runtime
def _ort_providers(device: str, providers: list[Any] | None, name: str) -> list[Any]:
    """Execution providers to ask for, keeping only those this onnxruntime build has (warn otherwise)."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    wanted: list[Any] = list(providers or [])
    if not wanted:
        dev = (device or "cpu").lower()
        if dev.startswith("cuda") or dev.startswith("gpu"):
            dev_id = int(dev.split(":")[1]) if ":" in dev else 0
            wanted = [("CUDAExecutionProvider", {"device_id": dev_id})]
        elif dev.startswith("tensorrt") or dev.startswith("trt"):
            dev_id = int(dev.split(":")[1]) if ":" in dev else 0
            wanted = [
                ("TensorrtExecutionProvider", {"device_id": dev_id}),
                ("CUDAExecutionProvider", {"device_id": dev_id}),
            ]
    chosen: list[Any] = []
    for p in wanted:
        pname = p[0] if isinstance(p, (tuple, list)) else p
        if not pname.endswith("ExecutionProvider"):
            pname = {
                "cuda": "CUDAExecutionProvider",
                "tensorrt": "TensorrtExecutionProvider",
                "cpu": "CPUExecutionProvider",
            }.get(pname.lower(), pname)
            p = (pname, p[1]) if isinstance(p, (tuple, list)) else pname
        if pname in available:
            chosen.append(tuple(p) if isinstance(p, (tuple, list)) else p)
        else:
            warnings.warn(
                f"model {name}: execution provider {pname} was asked for but this onnxruntime build offers only "
                f"{available}; falling back to CPU",
                RuntimeWarning,
                stacklevel=4,
            )
    if "CPUExecutionProvider" not in [c[0] if isinstance(c, tuple) else c for c in chosen]:
        chosen.append("CPUExecutionProvider")
    return chosen


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
        self.providers = _ort_providers(device, providers, self.name)
        try:
            self.session = ort.InferenceSession(str(path), sess_options=so, providers=self.providers)
        except Exception as e:  # onnxruntime raises its own Fail/InvalidProtobuf/... types
            raise ModelLoadError(f"model {path}: onnxruntime cannot load it: {type(e).__name__}: {e}") from e
        used = self.session.get_providers()
        self.device = (
            "cuda" if any(p in used for p in ("CUDAExecutionProvider", "TensorrtExecutionProvider")) else "cpu"
        )
        self._ort_device = "cuda" if self.device == "cuda" else "cpu"
        self.inputs = [self._spec(a) for a in self.session.get_inputs()]
        # non-tensor outputs (the sequence of maps that CatBoost/sklearn exporters add) cannot become Tensors:
        # they are left out of the contract and never computed, with a warning (EICrecon skips them too)
        outs = self.session.get_outputs()
        self.skipped_outputs = [f"{a.name} ({a.type})" for a in outs if not a.type.startswith("tensor(")]
        if self.skipped_outputs:
            warnings.warn(
                f"model {path}: non-tensor output(s) {self.skipped_outputs} are skipped; only tensor outputs are returned",
                RuntimeWarning,
                stacklevel=3,
            )
        self.outputs = [self._spec(a) for a in outs if a.type.startswith("tensor(")]
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
        self._tls = threading.local()
        self._fast = None
        if self._ort_device == "cpu":
            try:  # onnxruntime's own binding layer: ~3x less per-call overhead than the Python wrappers
                from onnxruntime.capi import _pybind_state as C

                self._fast = (
                    C,
                    self.session._sess,
                    C.OrtDevice(C.OrtDevice.cpu(), C.OrtDevice.default_memory(), 0),
                    C.RunOptions(),
                )
                C.SessionIOBinding  # noqa: B018 - probe the API once, fall back if it moved
            except (ImportError, AttributeError):
                self._fast = None

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

    def planned_output_shapes(self, feeds: dict[str, Any]) -> dict[str, tuple[int, ...]] | None:
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

    @property
    def writes_into_outputs(self) -> bool:
        return self._ort_device == "cpu"

    def run(self, feeds: dict[str, Any], out: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
        if self._fast is not None:
            try:
                return self._run_fast(feeds, out)
            except _PlannedShapeError:
                self._out_plan = [None] * len(self._out_plan)  # the model's dim names mislead: stop guessing
                return self._run_fast(feeds, out)
        return self._run_public(feeds, out)

    def _run_fast(self, feeds: dict[str, Any], out: dict[str, np.ndarray] | None) -> dict[str, Any]:
        """Inputs wrapped (no copy); outputs pre-allocated from the planned shapes (or the caller's
        buffers) and bound, so ONNX Runtime writes them in place; unknown shapes are copied out once."""
        C, sess, dev, ro = self._fast
        binding = getattr(self._tls, "binding", None)  # one binding per thread, rebound by name on each call
        if binding is None:
            binding = self._tls.binding = C.SessionIOBinding(sess)
        in_ptrs: dict[str, int] = {}
        copied: list[str] = []
        keep = []
        for name, arr in feeds.items():
            if isinstance(arr, np.ndarray):
                if not arr.flags.c_contiguous:
                    arr = np.ascontiguousarray(arr)
                    copied.append(name)
                ov = C.OrtValue.ortvalue_from_numpy(arr, dev)
            else:  # torch tensor: shared through DLPack
                arr = arr.detach()
                if not arr.is_contiguous():
                    arr = arr.contiguous()
                    copied.append(name)
                ov = _ortvalue_from_dlpack(self._ort, arr)._ortvalue
            keep.append(arr)
            binding.bind_ortvalue_input(name, ov)
            in_ptrs[name] = ov.data_ptr()
        targets: list[np.ndarray | None] = []
        planned = False
        for k, o in enumerate(self._output_names):
            target = out.get(o) if out else None
            if target is None:
                shape = self._planned_shape(k, feeds)
                if shape is not None:
                    target = np.empty(shape, self.outputs[k].dtype)
                    planned = True
            elif not target.flags.c_contiguous:
                raise ModelError(f"model {self.name}: output buffer for '{o}' must be C-contiguous")
            if target is not None:
                binding.bind_ortvalue_output(o, C.OrtValue.ortvalue_from_numpy(target, dev))
            else:
                binding.bind_output(o, dev)
            targets.append(target)
        try:
            sess.run_with_iobinding(binding, ro)
        except Exception as e:
            if planned and "hape" in str(e):
                raise _PlannedShapeError(str(e)) from e
            raise
        result: dict[str, Any] = {}
        out_ptrs: dict[str, int] = {}
        values = None
        for k, o in enumerate(self._output_names):
            target = targets[k]
            if target is not None:
                result[o] = target
                out_ptrs[o] = target.ctypes.data
                continue
            if values is None:
                values = binding.get_outputs()
            ov = values[k]
            if not ov.is_tensor():
                result[o] = None  # e.g. the sequence of maps a CatBoost/sklearn exporter adds
                out_ptrs[o] = 0
                continue
            out_ptrs[o] = ov.data_ptr()
            result[o] = ov.numpy()
            copied.append(o)
        self.last_run = {"inputs": in_ptrs, "outputs": out_ptrs, "copied": copied}
        return result

    def _run_public(self, feeds: dict[str, Any], out: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
        ort = self._ort
        binding = self.session.io_binding()
        info: dict[str, Any] = {"inputs": {}, "outputs": {}, "copied": []}
        keep = []
        for name, arr in feeds.items():
            if hasattr(arr, "__dlpack__") and not isinstance(arr, np.ndarray):  # torch tensor: no copy via DLPack
                arr = arr.detach()
                if not arr.is_contiguous():
                    arr = arr.contiguous()
                    info["copied"].append(name)
                ov = _ortvalue_from_dlpack(ort, arr)
            else:
                if not arr.flags.c_contiguous:
                    arr = np.ascontiguousarray(arr)
                    info["copied"].append(name)
                ov = ort.OrtValue.ortvalue_from_numpy(arr)
            keep.append((arr, ov))
            info["inputs"][name] = ov.data_ptr()
            binding.bind_ortvalue_input(name, ov)
        out = out or {}
        for o in self._output_names:
            target = out.get(o)
            if target is not None and self._ort_device == "cpu":
                if not target.flags.c_contiguous:
                    raise ModelError(f"model {self.name}: output buffer for '{o}' must be C-contiguous")
                binding.bind_output(o, "cpu", 0, target.dtype, list(target.shape), target.ctypes.data)
            else:
                binding.bind_output(o, self._ort_device)
        self.session.run_with_iobinding(binding)
        values = binding.get_outputs()
        host = None if self._ort_device == "cpu" else binding.copy_outputs_to_cpu()  # device outputs: one copy
        result: dict[str, Any] = {}
        for o, ov in zip(self._output_names, values):
            target = out.get(o)
            info["outputs"][o] = ov.data_ptr() if ov.is_tensor() else 0
            if target is not None and self._ort_device == "cpu" and ov.data_ptr() == target.ctypes.data:
                result[o] = target
            elif not ov.is_tensor():
                result[o] = None  # e.g. the sequence of maps a CatBoost/sklearn exporter adds
            else:
                arr = ov.numpy() if host is None else host[self._output_names.index(o)]
                if host is not None:
                    info["copied"].append(o)
                if target is not None:
                    np.copyto(target, arr.reshape(target.shape))
                    info["copied"].append(o)
                    arr = target
                result[o] = arr
        self.last_run = info
        return result


class _PlannedShapeError(RuntimeError):
    """ONNX Runtime rejected an output buffer sized from the model's declared dims."""


def _ortvalue_from_dlpack(ort: Any, tensor: Any) -> Any:
    """OrtValue sharing a torch tensor's memory (the DLPack entry point changed across onnxruntime versions)."""
    try:
        return ort.OrtValue.from_dlpack(tensor)
    except TypeError:  # older onnxruntime: (capsule, is_bool_tensor)
        import torch

        return ort.OrtValue.from_dlpack(tensor.__dlpack__(), tensor.dtype == torch.bool)


# ---------------------------------------------------------------------------------------- torch
def _torch_dtype_to_numpy(dt: Any) -> np.dtype:
    import torch

    return np.dtype(torch.empty(0, dtype=dt).numpy().dtype)


class TorchBackend(Backend):
    """TorchScript (`.pt`), torch.export (`.pt2`) or an nn.Module; always in inference_mode."""

    kind = "torch"

    def __init__(
        self,
        model: Any,
        device: str = "cpu",
        intra_op_threads: int | None = None,
        inter_op_threads: int | None = None,
        input_names: list[str] | None = None,
        output_names: list[str] | None = None,
        lock: bool = False,
        **_ignored: Any,
    ) -> None:
        import torch

        self._torch = torch
        name = str(model) if isinstance(model, (str, Path)) else f"<{type(model).__name__} object>"
        super().__init__(name)
        dev = (device or "cpu").lower()
        if dev.startswith("cuda") and not torch.cuda.is_available():
            warnings.warn(
                f"model {name}: device {device!r} asked for but torch sees no CUDA device; using CPU",
                RuntimeWarning,
                stacklevel=3,
            )
            dev = "cpu"
        self.device = dev
        self._tdev = torch.device(dev)
        if intra_op_threads:  # process-wide in torch: only when asked for
            torch.set_num_threads(int(intra_op_threads))
        if inter_op_threads:
            try:
                torch.set_interop_threads(int(inter_op_threads))
            except RuntimeError:  # can only be set once, before any parallel work
                pass
        example_specs: list[TensorSpec] = []
        if isinstance(model, (str, Path)):
            path = Path(model)
            try:
                if path.suffix in EXPORT_SUFFIXES:
                    ep = torch.export.load(str(path))
                    example_specs = _export_input_specs(ep)
                    self.metadata["format"] = "torch.export"
                    module = ep.module()
                else:
                    module = torch.jit.load(str(path), map_location=self._tdev)
                    self.metadata["format"] = "torchscript"
            except Exception as e:
                hint = (
                    "" if path.suffix in EXPORT_SUFFIXES else
                    " (a .pt file must be TorchScript, from torch.jit.save; for a pickled nn.Module or a state_dict, "
                    "build the module in Python and pass it to load_model)"
                )  # fmt: skip
                raise ModelLoadError(f"model {path}: torch cannot load it{hint}: {type(e).__name__}: {e}") from e
        else:
            module = model
            self.metadata["format"] = "nn.Module"
        if hasattr(module, "eval") and self.metadata["format"] != "torch.export":
            module.eval()  # an exported program is already in inference form (and refuses eval())
        if hasattr(module, "to") and self.metadata["format"] != "torch.export":
            module = module.to(self._tdev)
        elif self.metadata["format"] == "torch.export" and dev != "cpu":
            module = module.to(self._tdev)
        self.module = module
        names = input_names or [s.name for s in example_specs] or _forward_arg_names(module) or ["input"]
        if example_specs and len(example_specs) == len(names):
            self.inputs = [TensorSpec(n, s.shape, s.dtype) for n, s in zip(names, example_specs)]
        else:
            self.inputs = [TensorSpec(n, None, None) for n in names]
        self.outputs = [TensorSpec(n, None, None) for n in (output_names or ["output"])]
        self._output_names_given = output_names is not None
        self._lock = threading.Lock() if lock else None

    def set_specs(self, inputs: list[TensorSpec] | None, outputs: list[TensorSpec] | None) -> None:
        """Shapes/dtypes from a sidecar (torch files do not carry them)."""
        if inputs:
            self.inputs = list(inputs)
        if outputs:
            self.outputs = list(outputs)
            self._output_names_given = True

    def run(self, feeds: dict[str, Any], out: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
        torch = self._torch
        info: dict[str, Any] = {"inputs": {}, "outputs": {}, "copied": []}
        args = []
        for spec in self.inputs:
            x = feeds[spec.name]
            if isinstance(x, np.ndarray):
                if not x.flags.c_contiguous or not x.flags.writeable:
                    x = np.ascontiguousarray(x) if x.flags.writeable else np.array(x)
                    info["copied"].append(spec.name)
                t = torch.from_numpy(x)  # shares memory
            else:
                t = x
            if t.device != self._tdev:
                t = t.to(self._tdev)
                info["copied"].append(spec.name)
            info["inputs"][spec.name] = t.data_ptr()
            args.append(t)
        if self._lock:
            with self._lock, torch.inference_mode():
                res = self.module(*args)
        else:
            with torch.inference_mode():
                res = self.module(*args)
        values = self._split_outputs(res)
        out = out or {}
        result: dict[str, Any] = {}
        for name, v in values.items():
            if v.device.type != "cpu":
                v = v.cpu()
            arr = v.numpy()
            info["outputs"][name] = arr.ctypes.data
            target = out.get(name)
            if target is not None:
                np.copyto(target, arr.reshape(target.shape), casting="same_kind")
                info["copied"].append(name)
                arr = target
            result[name] = arr
        self.last_run = info
        return result

    def _split_outputs(self, res: Any) -> dict[str, Any]:
        if isinstance(res, dict):
            if not self._output_names_given:
                self.outputs = [TensorSpec(str(k), None, None) for k in res]
                self._output_names_given = True
            return {str(k): v for k, v in res.items()}
        seq = list(res) if isinstance(res, (tuple, list)) else [res]
        if not self._output_names_given or len(self.outputs) != len(seq):
            if len(seq) == 1 and not self._output_names_given:
                names = ["output"]
            elif not self._output_names_given:
                names = [f"output_{i}" for i in range(len(seq))]
            else:
                raise ModelError(
                    f"model {self.name}: returned {len(seq)} tensors but {len(self.outputs)} output names are "
                    f"declared ({[o.name for o in self.outputs]})"
                )
            self.outputs = [TensorSpec(n, None, None) for n in names]
            self._output_names_given = True
        return {o.name: v for o, v in zip(self.outputs, seq)}


def _export_input_specs(ep: Any) -> list[TensorSpec]:
    """Input names, shapes (symbolic dims as names) and dtypes from a torch.export ExportedProgram."""
    specs = []
    try:
        user_inputs = [s for s in ep.graph_signature.input_specs if s.kind.name == "USER_INPUT"]
        nodes = {n.name: n for n in ep.graph.nodes if n.op == "placeholder"}
        for s in user_inputs:
            node = nodes.get(s.arg.name)
            val = node.meta.get("val") if node is not None else None
            if val is None:
                specs.append(TensorSpec(s.arg.name, None, None))
                continue
            dims = tuple(int(d) if str(d).lstrip("-").isdigit() else str(d) for d in val.shape)
            specs.append(TensorSpec(s.arg.name, dims, _torch_dtype_to_numpy(val.dtype)))
    except Exception:  # the signature API moves between torch versions; names/shapes are then unknown
        return []
    return specs


def _forward_arg_names(module: Any) -> list[str]:
    try:
        schema = module.forward.schema  # TorchScript
        return [a.name for a in schema.arguments if a.name != "self"]
    except AttributeError:
        pass
    try:
        sig = inspect.signature(module.forward)
    except (TypeError, ValueError, AttributeError):
        return []
    return [
        p.name
        for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "self"
    ]


# ---------------------------------------------------------------------------------------- Python callables
def resolve_callable(spec: str) -> Any:
    """'package.module:function' (or a .py file path 'file.py:function') -> the callable."""
    if ":" not in spec:
        raise ModelLoadError(f"{spec!r}: a Python model is given as 'module:function'")
    mod_name, func_name = spec.rsplit(":", 1)
    try:
        if mod_name.endswith(".py"):
            if not os.path.isfile(mod_name):
                raise ModelNotFoundError(f"model {mod_name}: no such file")
            spec_ = importlib.util.spec_from_file_location(Path(mod_name).stem, mod_name)
            module = importlib.util.module_from_spec(spec_)
            spec_.loader.exec_module(module)
        else:
            module = importlib.import_module(mod_name)
    except ModelError:
        raise
    except Exception as e:
        raise ModelLoadError(f"model {spec}: cannot import {mod_name}: {type(e).__name__}: {e}") from e
    try:
        return getattr(module, func_name)
    except AttributeError:
        raise ModelLoadError(f"model {spec}: module {mod_name} has no attribute {func_name!r}") from None


class PythonBackend(Backend):
    """A plain callable on numpy arrays: f(**inputs) -> array | tuple of arrays | {name: array}."""

    kind = "python"

    def __init__(
        self,
        func: Any,
        input_names: list[str] | None = None,
        output_names: list[str] | None = None,
        **_ignored: Any,
    ) -> None:
        if isinstance(func, str):
            label = func
            func = resolve_callable(func)
        else:
            label = getattr(func, "__qualname__", repr(func))
        super().__init__(label)
        if not callable(func):
            raise ModelLoadError(f"model {label}: not callable")
        self.func = func
        names = input_names
        if not names:
            try:
                sig = inspect.signature(func)
                names = [
                    p.name for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                ]
            except (TypeError, ValueError):
                names = ["input"]
        self.inputs = [TensorSpec(n, None, None) for n in names]
        self.outputs = [TensorSpec(n, None, None) for n in (output_names or ["output"])]
        self._fixed_outputs = output_names is not None
        self.metadata = {"format": "python", "callable": label}

    def set_specs(self, inputs: list[TensorSpec] | None, outputs: list[TensorSpec] | None) -> None:
        if inputs:
            self.inputs = list(inputs)
        if outputs:
            self.outputs = list(outputs)
            self._fixed_outputs = True

    def run(self, feeds: dict[str, Any], out: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
        args = []
        for s in self.inputs:
            x = feeds[s.name]
            if hasattr(x, "detach"):
                x = x.detach().cpu().numpy()
            args.append(x)
        res = self.func(*args)
        if isinstance(res, dict):
            values = {str(k): v for k, v in res.items()}
        else:
            seq = list(res) if isinstance(res, (tuple, list)) else [res]
            if len(seq) != len(self.outputs):
                if self._fixed_outputs:
                    raise ModelError(
                        f"model {self.name}: returned {len(seq)} arrays but {len(self.outputs)} outputs are declared"
                    )
                self.outputs = [
                    TensorSpec(f"output_{i}" if len(seq) > 1 else "output", None, None) for i in range(len(seq))
                ]
            values = {o.name: v for o, v in zip(self.outputs, seq)}
        out = out or {}
        result = {}
        copied = []
        for k, v in values.items():
            v = np.asarray(v)
            if k in out:
                np.copyto(out[k], v.reshape(out[k].shape), casting="same_kind")
                copied.append(k)
                v = out[k]
            result[k] = v
        self.last_run = {"inputs": {}, "outputs": {}, "copied": copied}
        return result


def choose_backend(model: Any, backend: str | None) -> str:
    """Backend name from an explicit choice or the model's type/file suffix."""
    if backend:
        b = backend.lower()
        aliases = {
            "onnx": "onnxruntime",
            "ort": "onnxruntime",
            "onnxruntime": "onnxruntime",
            "torch": "torch",
            "pytorch": "torch",
            "torchscript": "torch",
            "python": "python",
            "callable": "python",
        }
        if b not in aliases:
            raise ModelLoadError(f"unknown backend {backend!r}; choose onnxruntime, torch or python")
        return aliases[b]
    if isinstance(model, (str, Path)):
        s = str(model)
        suffix = Path(s).suffix.lower()
        if suffix in ONNX_SUFFIXES:
            return "onnxruntime"
        if suffix in TORCHSCRIPT_SUFFIXES or suffix in EXPORT_SUFFIXES:
            return "torch"
        if ":" in s and not os.path.exists(s):
            return "python"
        raise ModelLoadError(
            f"model {s}: cannot tell the backend from the suffix {suffix!r} (known: {ONNX_SUFFIXES} for onnxruntime, "
            f"{TORCHSCRIPT_SUFFIXES + EXPORT_SUFFIXES} for torch, 'module:function' for python); pass backend=..."
        )
    try:
        import torch

        if isinstance(model, torch.nn.Module):
            return "torch"
    except ImportError:  # pragma: no cover
        pass
    if callable(model):
        return "python"
    raise ModelLoadError(f"cannot make a model from {type(model).__name__}")


def make_backend(model: Any, backend: str | None = None, **options: Any) -> Backend:
    """Construct the backend for `model` (a path, an nn.Module or a callable)."""
    kind = choose_backend(model, backend)
    if isinstance(model, (str, Path)) and kind != "python":
        p = Path(model)
        if not p.exists():
            raise ModelNotFoundError(f"model {p}: no such file")
        if p.is_file() and p.stat().st_size == 0:
            raise ModelLoadError(f"model {p}: the file is empty")
    if kind == "onnxruntime":
        return OnnxRuntimeBackend(model, **options)
    if kind == "torch":
        return TorchBackend(model, **options)
    return PythonBackend(model, **options)
