"""Plain Python callables on numpy arrays as models ('module:function', or a function object)."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from k4mlinference.inference.backends.base import Backend, copy_into_outputs
from k4mlinference.inference.callables import resolve_callable
from k4mlinference.inference.spec import ModelError, ModelLoadError, TensorSpec


class PythonBackend(Backend):
    """A plain callable on numpy arrays: f(*inputs) -> array | tuple of arrays | {name: array}."""

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
        self.outputs_declared = output_names is not None
        self.metadata = {"format": "python", "callable": label}

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
                if self.outputs_declared:
                    raise ModelError(
                        f"model {self.name}: returned {len(seq)} arrays but {len(self.outputs)} outputs are declared"
                    )
                self.outputs = [
                    TensorSpec(f"output_{i}" if len(seq) > 1 else "output", None, None) for i in range(len(seq))
                ]
            values = {o.name: v for o, v in zip(self.outputs, seq)}
        copied: list[str] = []
        result = copy_into_outputs(values, out, copied)
        self.last_run = {"inputs": {}, "outputs": {}, "copied": copied}
        return result
