"""`load_model`: one Python API over every backend, with the model contract enforced on each call.

from k4mlinference.inference import load_model
model = load_model("model.onnx")                  # backend from the suffix; intra-op threads = 1
model.inputs    # [TensorSpec(name='input', shape=('batch_size', 6), dtype=float32)]
y = model.run({"input": x})["output"]            # numpy in (or torch), numpy out
model.optional_inputs, model.output_classes       # ONNX inputs with a default; ZipMap class labels

Errors: ModelInputError (the call does not fit the contract), ModelRunError (the runtime failed on
inputs that did: file, inputs fed and the runtime's reason), ModelOutputError (non-finite outputs).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from k4mlinference.inference import sidecar as _sidecar
from k4mlinference.inference.backends import Backend, choose_backend, make_backend
from k4mlinference.inference.spec import ModelInputError, RowLocator, TensorSpec, check_finite, check_inputs


class Model:
    """A loaded model: contract (inputs/outputs/metadata/sidecar) plus `run`.

    The backend may be shared with other Model objects (see `service`); a Model itself holds no
    per-call state, so it can be used from several threads when its backend can.
    """

    def __init__(
        self,
        backend: Backend,
        path: str | None = None,
        sidecar: _sidecar.Sidecar | None = None,
        nan_policy: str = "raise",
    ) -> None:
        if nan_policy not in ("raise", "warn", "ignore"):
            raise ValueError(f"nan_policy must be 'raise', 'warn' or 'ignore', not {nan_policy!r}")
        self.backend = backend
        self.path = path
        self.sidecar = sidecar
        self.nan_policy = nan_policy
        self.name = path or backend.name
        self._validated: set[tuple] = set()  # input signatures whose contract check passed
        self._validated_for: Any = None
        self._rows_free = True
        if sidecar is not None and hasattr(backend, "set_specs"):
            ins = sidecar.input_specs or None
            if ins is None and sidecar.input_order and [s.name for s in backend.inputs] != sidecar.input_order:
                ins = [TensorSpec(n, None, None) for n in sidecar.input_order]
            backend.set_specs(ins, sidecar.output_specs or None)

    # ------------------------------------------------------------------ contract
    @property
    def inputs(self) -> list[TensorSpec]:
        return self.backend.inputs

    @property
    def outputs(self) -> list[TensorSpec]:
        return self.backend.outputs

    @property
    def optional_inputs(self) -> list[TensorSpec]:
        """Inputs with a default in the model file (ONNX graph inputs that are also initializers, IR >= 4):
        left unfed, the default is used; fed by name, they override it."""
        return self.backend.optional_inputs

    @property
    def input_names(self) -> list[str]:
        return [s.name for s in self.backend.inputs]

    @property
    def output_names(self) -> list[str]:
        return [s.name for s in self.backend.outputs]

    @property
    def metadata(self) -> dict[str, Any]:
        return self.backend.metadata

    @property
    def kind(self) -> str:
        return self.backend.kind

    @property
    def output_classes(self) -> dict[str, list[Any]]:
        """Class labels per output: the labels of ONNX ZipMap outputs (ints or strings, in column order),
        overridden by the sidecar's class names (weaver's `output_names` go to the first output)."""
        classes = dict(self.backend.output_classes)
        if self.sidecar is None:
            return classes
        side = dict(self.sidecar.output_classes)
        if "*" in side and self.outputs:
            side[self.outputs[0].name] = side.pop("*")
        classes.update(side)
        return classes

    def describe(self) -> str:
        """Multi-line summary (for logs and `k4run --list`-style output)."""
        lines = [f"model {self.name} ({self.kind}, device {self.backend.device})"]
        lines += [f"  input  {s}" for s in self.inputs]
        lines += [f"  input  {s} (optional: has a default)" for s in self.optional_inputs]
        lines += [f"  output {s}" for s in self.outputs]
        return "\n".join(lines)

    def check(self, feeds: dict[str, Any], nan_policy: str | None = None, locate: RowLocator | None = None) -> None:
        """Raise ModelInputError if `feeds` does not fit the contract.

        The contract (names, dtypes, shapes) is checked in full once per input signature (dtypes and shapes,
        without the row count where the contract lets rows vary freely); later calls with the same signature
        only scan the values for NaN/inf, which change every call."""
        policy = nan_policy or self.nan_policy
        specs = self.inputs
        key = self._signature(feeds, specs)
        if key is not None and key in self._validated:
            if policy != "ignore":
                for name, arr in feeds.items():
                    if arr.dtype.kind in "fc":
                        check_finite(self.name, name, arr, policy, "input", locate)
            return
        check_inputs(self.name, specs, feeds, policy, locate, self.optional_inputs)
        if key is not None:
            if len(self._validated) >= 64:  # bounded: inputs whose inner shapes vary do not grow it
                self._validated.clear()
            self._validated.add(key)

    def _signature(self, feeds: dict[str, Any], specs: list[TensorSpec]) -> tuple | None:
        """What decides the contract check for numpy feeds: names, dtypes and shapes, the row count left out
        (only whether all inputs agree on it) when no input fixes it and no other axis is named like it."""
        if specs is not self._validated_for:  # torch/python specs are replaced, not mutated
            self._validated_for, self._validated = specs, set()
            later = {d for sp in specs for d in (sp.shape or ())[1:] if isinstance(d, str)}
            self._rows_free = all(
                not sp.shape or sp.shape[0] is None or (isinstance(sp.shape[0], str) and sp.shape[0] not in later)
                for sp in specs
            )
        if not all(isinstance(v, np.ndarray) and v.ndim for v in feeds.values()):
            return None
        if not self._rows_free:
            return tuple((k, v.dtype, v.shape) for k, v in feeds.items())
        rows = {v.shape[0] for v in feeds.values()}
        return (len(rows) == 1, *((k, v.dtype, v.shape[1:]) for k, v in feeds.items()))

    def check_outputs(self, outputs: dict[str, Any], locate: RowLocator | None = None) -> None:
        """Apply `nan_policy` to the floating-point outputs: a model's NaN must not pass unnoticed into
        the output file (ModelOutputError naming the model file, the output and, given `locate`, the event)."""
        if self.nan_policy == "ignore":
            return
        for name, v in outputs.items():
            dtype = getattr(v, "dtype", None)
            if isinstance(dtype, np.dtype):
                floating = dtype.kind in "fc"
            else:  # a torch tensor; None (an output the backend did not give) has nothing to check
                floating = dtype is not None and bool(v.is_floating_point())
            if floating:
                check_finite(self.name, name, v, self.nan_policy, "output", locate)

    def as_arrays(self, feeds: dict[str, Any]) -> dict[str, Any]:
        """`feeds` with lists (and other array-likes) converted to numpy arrays of the declared dtype;
        numpy arrays and torch tensors are passed as they are."""
        if all(isinstance(v, np.ndarray) or hasattr(v, "detach") for v in feeds.values()):
            return feeds
        specs = {s.name: s for s in [*self.inputs, *self.optional_inputs]}
        out = {}
        for k, v in feeds.items():
            if not (isinstance(v, np.ndarray) or hasattr(v, "detach")):
                spec = specs.get(k)
                try:
                    v = np.asarray(v, dtype=spec.dtype if spec is not None else None)
                except (TypeError, ValueError) as e:
                    raise TypeError(
                        f"model {self.name}: input '{k}' is a {type(v).__name__} that cannot be converted to a "
                        f"numpy array{f' of {spec.dtype}' if spec is not None and spec.dtype else ''}: {e}"
                    ) from None
            out[k] = v
        return out

    # ------------------------------------------------------------------ running
    def run(
        self,
        feeds: dict[str, Any],
        out: dict[str, np.ndarray] | None = None,
        preprocess: bool = False,
        check: bool = True,
        cast: bool = False,
        locate: RowLocator | None = None,
    ) -> dict[str, Any]:
        """Run the model on `{input name: array}` (numpy, torch, or a nested list converted to the declared
        dtype); returns `{output name: numpy array}`. NaN/inf in inputs and outputs follow `nan_policy`.

        out: optional pre-allocated output arrays (written in place where the backend can).
        preprocess: apply the sidecar's preprocessing first (a copy). cast: convert inputs to the
        dtypes the model declares instead of rejecting them (a copy). locate: maps a row of the
        inputs to (event number, row in that event), for messages about batches of events.
        """
        feeds = self.as_arrays(feeds)
        if preprocess and self.sidecar is not None:
            feeds = self.sidecar.preprocess(feeds)
        if cast:
            feeds = self.cast(feeds)
        if check:
            self.check(feeds, locate=locate)
        res = self.backend.run(feeds, out)
        self.check_outputs(res, locate)
        return res

    __call__ = run

    def cast(self, feeds: dict[str, Any]) -> dict[str, Any]:
        """`feeds` with each input converted to the dtype the model declares (a copy where it differs)."""
        specs = {s.name: s for s in [*self.inputs, *self.optional_inputs]}
        out = {}
        for k, v in feeds.items():
            spec = specs.get(k)
            if spec is not None and spec.dtype is not None:
                if hasattr(v, "detach"):
                    v = v.detach().cpu().numpy()
                v = np.asarray(v)
                if v.dtype != spec.dtype:
                    v = v.astype(spec.dtype)
            out[k] = v
        return out

    def __repr__(self) -> str:
        return f"Model({self.name!r}, backend={self.kind!r}, inputs={self.input_names}, outputs={self.output_names})"


def _options_for_backend(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split load_model options into backend options and Model options."""
    model_keys = {"nan_policy"}
    aliases = {
        "intra_op_num_threads": "intra_op_threads",
        "inter_op_num_threads": "inter_op_threads",
        "execution_providers": "providers",
    }
    backend_opts, model_opts = {}, {}
    for k, v in options.items():
        k = aliases.get(k, k)
        (model_opts if k in model_keys else backend_opts)[k] = v
    return backend_opts, model_opts


def load_model(
    model: Any,
    backend: str | None = None,
    sidecar: str | Path | None | bool = None,
    backend_factory: Callable[..., Backend] = make_backend,
    **options: Any,
) -> Model:
    """Load a model file (`.onnx`, `.pt`, `.pt2`, 'module:function') or wrap an nn.Module / callable.

    backend: "onnxruntime" | "torch" | "python"; None picks from the suffix/type.
    sidecar: path of the JSON sidecar (ours, or weaver's preprocess.json); None looks for `<model>.json`
      next to the model; False ignores it.
    backend_factory: what constructs the backend from (model, backend, **backend options); the
      process-wide shared sessions pass their cache here (`service.get_model`).
    options: intra_op_threads (default 1), inter_op_threads (1), device ("cpu", "cuda", "cuda:1"),
      providers (onnxruntime execution providers, e.g. ["CUDAExecutionProvider"]), graph_optimization,
      input_names/output_names (torch, callables), nan_policy ("raise" | "warn" | "ignore").
    """
    backend_opts, model_opts = _options_for_backend(options)
    path = str(model) if isinstance(model, (str, Path)) else None
    sc = None
    if sidecar is not False:
        if sidecar:
            sc = _sidecar.load(sidecar)
        elif path and Path(path).suffix:
            sc = _sidecar.find(path)
    if path is not None and choose_backend(path, backend) == "onnxruntime":
        backend_opts.setdefault("intra_op_threads", 1)
        backend_opts.setdefault("inter_op_threads", 1)
    be = backend_factory(model, backend, **backend_opts)
    return Model(be, path=path, sidecar=sc, **model_opts)


__all__ = ["Model", "ModelInputError", "load_model"]
