"""TorchScript (`.pt`), torch.export (`.pt2`) files and nn.Module objects, always in inference_mode.

torch's thread count is process-wide, so it is only set when asked for explicitly. Nested return values
(tuples, lists, dicts, NamedTuples) are flattened with stable names (`_split_outputs`); a failure inside
the interpreter is a `ModelRunError` naming the file and the inputs fed.
"""

from __future__ import annotations

import inspect
import threading
from pathlib import Path
from typing import Any

import numpy as np

from k4mlinference.inference.backends.base import Backend, copy_into_outputs
from k4mlinference.inference.backends.providers import torch_device
from k4mlinference.inference.spec import (
    ModelError,
    ModelLoadError,
    ModelRunError,
    TensorSpec,
    describe_feeds,
    runtime_reason,
)

TORCHSCRIPT_SUFFIXES = (".pt", ".pth", ".ts", ".torchscript", ".jit")
EXPORT_SUFFIXES = (".pt2",)


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
        dev = torch_device(device, name)
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
                raise ModelLoadError(
                    f"model {path}: torch cannot load it{hint}: {type(e).__name__}: {runtime_reason(e, 160)}"
                ) from e
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
        self.outputs_declared = output_names is not None
        self._lock = threading.Lock() if lock else None

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
        try:
            if self._lock:
                with self._lock, torch.inference_mode():
                    res = self.module(*args)
            else:
                with torch.inference_mode():
                    res = self.module(*args)
        except Exception as e:  # TorchScript's interpreter traceback or torch's RuntimeError: name file and feeds
            fed = dict(zip([s.name for s in self.inputs], args))
            raise ModelRunError(
                f"model {self.name}: {self.metadata['format']} failed on inputs {describe_feeds(fed)}: "
                f"{runtime_reason(e)}"
            ) from e
        values = self._split_outputs(res)
        host = {}
        for name, v in values.items():
            arr = (v.cpu() if v.device.type != "cpu" else v).numpy()
            info["outputs"][name] = arr.ctypes.data
            host[name] = arr
        result = copy_into_outputs(host, out, info["copied"])
        self.last_run = info
        return result

    def _split_outputs(self, res: Any) -> dict[str, Any]:
        """The model's return value as {name: tensor}: a tensor is `output`; a tuple/list gives `output_0`,
        `output_1`...; a dict gives its keys, a NamedTuple its fields; nested tuples/lists/dicts are flattened
        depth-first, the path joined by '.' (`output_1.0`, `scores.b`), so names are stable from call to call.
        Names declared by the user or a sidecar replace these, in the same order."""
        flat = _flatten(res, self.name)
        if isinstance(res, dict) or any(k != i for i, k in enumerate(flat)):  # names, not positions
            if not self.outputs_declared:
                self.outputs = [TensorSpec(k, None, None) for k in flat]
                self.outputs_declared = True
                return flat
            names = [o.name for o in self.outputs]
            if set(names) == set(flat):
                return {n: flat[n] for n in names}
            if len(flat) == len(names):
                return dict(zip(names, flat.values()))
            raise ModelError(
                f"model {self.name}: returned {len(flat)} tensors {list(flat)} but {len(self.outputs)} output names "
                f"are declared ({[o.name for o in self.outputs]})"
            )
        seq = list(flat.values())
        if not self.outputs_declared or len(self.outputs) != len(seq):
            if len(seq) == 1 and not self.outputs_declared:
                names = ["output"]
            elif not self.outputs_declared:
                names = [f"output_{i}" for i in range(len(seq))]
            else:
                raise ModelError(
                    f"model {self.name}: returned {len(seq)} tensors but {len(self.outputs)} output names are "
                    f"declared ({[o.name for o in self.outputs]})"
                )
            self.outputs = [TensorSpec(n, None, None) for n in names]
            self.outputs_declared = True
        return {o.name: v for o, v in zip(self.outputs, seq)}


def _flatten(res: Any, model: str) -> dict[Any, Any]:
    """{path: tensor} of a (nested) return value; a plain tensor or flat tuple/list gives {0: t, 1: ...}, a
    dict, a NamedTuple (its fields) or any nesting gives string paths ('output_1.0', 'key.sub'). Python
    numbers become 0-d tensors."""
    import torch

    def leaf(v: Any, path: str) -> Any:
        if isinstance(v, torch.Tensor):
            return v
        if isinstance(v, (bool, int, float)):
            return torch.tensor(v)
        raise ModelError(
            f"model {model}: output '{path}' is a {type(v).__name__}, not a tensor (only tensors, numbers and "
            f"tuples/lists/dicts of them can be returned)"
        )

    def walk(v: Any, path: str, out: dict[Any, Any]) -> None:
        if isinstance(v, tuple) and hasattr(v, "_fields"):  # a NamedTuple: its field names
            v = dict(zip(v._fields, v))
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{path}.{k}" if path else str(k), out)
        elif isinstance(v, (tuple, list)):
            for i, x in enumerate(v):
                walk(x, f"{path}.{i}" if path else f"output_{i}", out)
        else:
            out[path or "output"] = leaf(v, path or "output")

    named = isinstance(res, tuple) and hasattr(res, "_fields")
    if isinstance(res, (tuple, list)) and not named and not any(isinstance(x, (tuple, list, dict)) for x in res):
        return {i: leaf(x, f"output_{i}") for i, x in enumerate(res)}
    if not isinstance(res, (tuple, list, dict)):
        return {0: leaf(res, "output")}
    out: dict[Any, Any] = {}
    walk(res, "", out)
    return out


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
