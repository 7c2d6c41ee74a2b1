"""Where a model runs: ONNX Runtime execution providers and the torch device, chosen in one place.

`Device` ("cpu", "cuda", "cuda:1", "tensorrt", "tensorrt:0") or an explicit provider list is turned
into what this machine offers; anything asked for and absent falls back to the CPU with a warning
naming the model, so a job configured for a GPU still runs (slower) on a CPU node.
"""

from __future__ import annotations

import warnings
from typing import Any

_ORT_ALIASES = {"cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider", "cpu": "CPUExecutionProvider"}
ORT_GPU_PROVIDERS = ("CUDAExecutionProvider", "TensorrtExecutionProvider")


def _device_id(device: str) -> int:
    return int(device.split(":")[1]) if ":" in device else 0


def _fallback(name: str, what: str, offered: Any) -> None:
    warnings.warn(
        f"model {name}: {what} was asked for but {offered}; falling back to CPU", RuntimeWarning, stacklevel=4
    )


def onnxruntime_providers(device: str, providers: list[Any] | None, name: str) -> list[Any]:
    """Execution providers to ask for, keeping only those this onnxruntime build has (warn otherwise).

    CPU is always last, so every node in the graph has a provider."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    wanted: list[Any] = list(providers or [])
    dev = (device or "cpu").lower()
    if not wanted and dev.startswith(("cuda", "gpu")):
        wanted = [("CUDAExecutionProvider", {"device_id": _device_id(dev)})]
    elif not wanted and dev.startswith(("tensorrt", "trt")):
        wanted = [
            ("TensorrtExecutionProvider", {"device_id": _device_id(dev)}),
            ("CUDAExecutionProvider", {"device_id": _device_id(dev)}),
        ]
    chosen: list[Any] = []
    for p in wanted:
        options = p[1] if isinstance(p, (tuple, list)) else None
        pname = p[0] if isinstance(p, (tuple, list)) else p
        if not pname.endswith("ExecutionProvider"):
            pname = _ORT_ALIASES.get(pname.lower(), pname)
        if pname in available:
            chosen.append((pname, options) if options is not None else pname)
        else:
            _fallback(name, f"execution provider {pname}", f"this onnxruntime build offers only {available}")
    if "CPUExecutionProvider" not in [c[0] if isinstance(c, tuple) else c for c in chosen]:
        chosen.append("CPUExecutionProvider")
    return chosen


def torch_device(device: str, name: str) -> str:
    """The torch device for `device`, or "cpu" (with a warning) when torch sees no CUDA device."""
    import torch

    dev = (device or "cpu").lower()
    if dev.startswith("cuda") and not torch.cuda.is_available():
        _fallback(name, f"device {device!r}", "torch sees no CUDA device")
        return "cpu"
    return dev
