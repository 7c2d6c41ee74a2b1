"""Inference backends behind one interface (`base.Backend`): ONNX Runtime, torch and plain Python callables.

One module per backend; where a model runs (execution providers, torch device, CPU fallback) is
decided in `providers`. `make_backend` picks the backend from an explicit name or the model's
file suffix / type.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from k4mlinference.inference.backends.base import Backend
from k4mlinference.inference.backends.onnxruntime import ONNX_SUFFIXES, OnnxRuntimeBackend
from k4mlinference.inference.backends.python import PythonBackend
from k4mlinference.inference.backends.torch import EXPORT_SUFFIXES, TORCHSCRIPT_SUFFIXES, TorchBackend
from k4mlinference.inference.spec import ModelLoadError, ModelNotFoundError

_ALIASES = {
    "onnx": "onnxruntime",
    "ort": "onnxruntime",
    "onnxruntime": "onnxruntime",
    "torch": "torch",
    "pytorch": "torch",
    "torchscript": "torch",
    "python": "python",
    "callable": "python",
}


def choose_backend(model: Any, backend: str | None) -> str:
    """Backend name from an explicit choice or the model's type/file suffix."""
    if backend:
        b = backend.lower()
        if b not in _ALIASES:
            raise ModelLoadError(f"unknown backend {backend!r}; choose onnxruntime, torch or python")
        return _ALIASES[b]
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


__all__ = [
    "Backend",
    "OnnxRuntimeBackend",
    "PythonBackend",
    "TorchBackend",
    "choose_backend",
    "make_backend",
]
