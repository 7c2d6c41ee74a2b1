"""Generic ML inference: backends, the model contract, shared sessions, batching and MLInference.

    from k4mlinference.inference import load_model, InferenceEngine
    model = load_model("model.onnx")             # or .pt / .pt2 / an nn.Module / a callable
    model.inputs, model.outputs                  # TensorSpec(name, shape, dtype)
    model.run({"input": x})                      # -> {"output": y}
    InferenceEngine(model, batch_size=256).run_events([{"input": x0}, {"input": x1}])

Parts: `spec` (the contract and its errors), `backends/` (one module per runtime, `providers` for
where it runs), `model` (`load_model`, `Model`), `service` (process-wide shared sessions,
`get_model`), `sidecar` (the JSON next to a model), `engine` (batching across events),
`algorithm` (`MLInference`, the framework algorithm over Tensor collections).
"""

from __future__ import annotations

from k4mlinference.inference.backends import Backend, OnnxRuntimeBackend, PythonBackend, TorchBackend
from k4mlinference.inference.engine import InferenceEngine
from k4mlinference.inference.model import Model, load_model
from k4mlinference.inference.service import SessionService, get_model
from k4mlinference.inference.sidecar import Sidecar
from k4mlinference.inference.spec import (
    ModelError,
    ModelInputError,
    ModelLoadError,
    ModelNotFoundError,
    ModelOutputError,
    ModelRunError,
    TensorSpec,
)
from k4mlinference.inference.weaver import WeaverPreprocessor as WeaverPreprocessor

__all__ = [
    "Backend",
    "InferenceEngine",
    "Model",
    "ModelError",
    "ModelInputError",
    "ModelLoadError",
    "ModelNotFoundError",
    "ModelOutputError",
    "ModelRunError",
    "OnnxRuntimeBackend",
    "PythonBackend",
    "SessionService",
    "Sidecar",
    "TensorSpec",
    "TorchBackend",
    "get_model",
    "load_model",
]
