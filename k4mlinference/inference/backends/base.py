"""The interface every backend implements (ONNX Runtime, torch, Python callables).

Every backend exposes `inputs`/`outputs` (TensorSpecs), `metadata` (dict) and
`run(feeds, out=None) -> {name: array}`. `out` optionally maps output names to pre-allocated,
C-contiguous numpy arrays (e.g. views of an output Tensor collection's buffer); a backend writes
into them directly where it can (ONNX Runtime IO binding) and copies once otherwise (torch,
callables). The returned arrays are authoritative: a caller checks `result[name] is out[name]`
before relying on the runtime having written into its buffer. Whether a given call copied is
recorded in `last_run` so the zero-copy claims can be tested rather than believed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from k4mlinference.inference.spec import TensorSpec


class Backend:
    """Common interface. Subclasses fill `inputs`, `outputs`, `metadata` and implement `run`."""

    kind = "?"

    def __init__(self, name: str) -> None:
        self.name = name  # the model file (or callable) for messages
        self.inputs: list[TensorSpec] = []
        self.outputs: list[TensorSpec] = []
        self.optional_inputs: list[TensorSpec] = []  # inputs with a default (ONNX initializers), fed only if given
        self.output_classes: dict[str, list[Any]] = {}  # class labels the model file carries (ONNX ZipMap outputs)
        self.metadata: dict[str, Any] = {}
        self.device = "cpu"
        # diagnostics of the last call (from any thread, when shared): {"inputs": {name: address the runtime
        # read}, "outputs": {name: address it wrote}, "copied": [names of tensors copied on the way]}
        self.last_run: dict[str, Any] = {}
        self.outputs_declared = False  # output names/specs given by the user or a sidecar, not guessed

    @property
    def writes_into_outputs(self) -> bool:
        """True if `run(out=...)` makes the runtime write into the given arrays (no copy)."""
        return False

    def planned_output_shapes(self, feeds: dict[str, Any]) -> dict[str, tuple[int, ...]] | None:
        """Output shapes known from the input shapes before running, if the backend can tell."""
        return None

    def set_specs(self, inputs: list[TensorSpec] | None, outputs: list[TensorSpec] | None) -> None:
        """Shapes/dtypes from a sidecar, for backends whose files do not carry them (torch, callables)."""
        if inputs:
            self.inputs = list(inputs)
        if outputs:
            self.outputs = list(outputs)
            self.outputs_declared = True

    def run(self, feeds: dict[str, Any], out: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the runtime's resources (sessions are shared; the service calls this)."""


def copy_into_outputs(values: dict[str, Any], out: dict[str, np.ndarray] | None, copied: list[str]) -> dict[str, Any]:
    """Numpy results, each copied once into the caller's buffer where one is given (runtimes that allocate)."""
    result = {}
    for name, v in values.items():
        v = np.asarray(v)
        target = (out or {}).get(name)
        if target is not None:
            np.copyto(target, v.reshape(target.shape), casting="same_kind")
            copied.append(name)
            v = target
        result[name] = v
    return result
