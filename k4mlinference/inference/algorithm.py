"""MLInference: the generic algorithm from N input Tensor collections to M output Tensor collections.

EICrecon's convention: each input collection holds one Tensor per event (element 0) whose leading
axis is the batch (the rows of that event); the model's inputs are fed in the order of
`InputCollections`, and its outputs are stored in the order of `OutputCollections`.

    MLInference("PIDInference", ModelPath="pid.onnx", InputCollections=["PIDFeatures"],
                OutputCollections=["PIDLabel", "PIDProbabilities"], BatchSize=256)

With `BatchSize=K` the event loop hands K events to `process_batch`; their rows are concatenated,
the model runs once, and the outputs are split back per event (see `engine`). The session is
shared per process (see `service`), with 1 intra-op and 1 inter-op thread by default so that
several processes on one node do not oversubscribe it.

Tensor collections hold float32 and int64 only, so `initialize` refuses a model input of another
dtype (float64, float16, bool, int32...) unless `CastInputs=True` asks for the features to be
converted on each call, and refuses an output no Tensor can hold (strings, e.g. the class labels of
a string-labelled sklearn classifier); other numeric outputs are stored as float32/int64. Inputs
with a default in the model (ONNX initializers listed as graph inputs) are left to it, unless
InputCollections names more collections than the model's required inputs: the extra ones feed the
optional inputs, in the model's order.

MLInference does inference only. To save the features (and targets) for training, put
`k4mlinference.training.export.TrainingExport` beside it in the options file, reading the same
Tensor collections.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from k4mlinference.edm import tensor
from k4mlinference.framework import Inputs, MultiTransformer, Outputs, Property
from k4mlinference.inference.backends import choose_backend
from k4mlinference.inference.engine import InferenceEngine
from k4mlinference.inference.model import load_model
from k4mlinference.inference.service import get_model
from k4mlinference.inference.sidecar import sidecar_path
from k4mlinference.inference.spec import ModelError

TENSOR = "edm4eic::TensorCollection"


class MLInference(MultiTransformer):
    """Run an ONNX / TorchScript / torch.export / Python model on Tensor collections (N in, M out), batching
    BatchSize events per call. A MultiTransformer: it returns a 1-tuple holding the list of output collections
    (one entry per declared output handle, `OutputCollections`)."""

    InputCollections = Inputs(["InputTensor"], type=TENSOR, doc="input Tensor collections, in the model's input order")
    OutputCollections = Outputs(
        ["OutputTensor"], type=TENSOR, doc="output Tensor collections, in the model's output order"
    )

    ModelPath = Property(
        "",
        doc="model file: .onnx (onnxruntime), .pt (TorchScript), .pt2 (torch.export), or module:function",
        existing_file=True,
    )
    SidecarPath = Property(
        "", doc="JSON sidecar (ours, or weaver's preprocess.json); empty: <model>.json next to the model, if there"
    )
    Backend = Property("", doc="onnxruntime | torch | python; empty: from the file suffix")
    BatchSize = Property(1, doc="events per model call (<= 0: the whole block the event loop gives)")
    IntraOpThreads = Property(
        1, doc="onnxruntime intra-op threads (1: no oversubscription inside a framework; torch's pool is process-wide)"
    )
    InterOpThreads = Property(1, doc="onnxruntime inter-op threads")
    Device = Property("cpu", doc="cpu | cuda | cuda:N | tensorrt; falls back to CPU with a warning when absent")
    ExecutionProviders = Property(
        [], element_type=str, doc="onnxruntime execution providers, e.g. [CUDAExecutionProvider]"
    )
    NanPolicy = Property("raise", doc="NaN/inf in the model's inputs and outputs: raise | warn | ignore")
    Preprocess = Property(False, doc="apply the sidecar JSON's preprocessing (centre/scale/clip/pad) before the model")
    CastInputs = Property(False, doc="convert inputs to the model's dtypes instead of rejecting a mismatch")
    SharedSession = Property(True, doc="share one loaded model per (file, options) in the process")

    @property
    def sidecar_file(self) -> str:
        """The sidecar this instance reads: SidecarPath, or `<model>.json` next to the model."""
        return self.SidecarPath or (str(sidecar_path(self.ModelPath)) if self.ModelPath else "")

    def initialize(self) -> None:
        if not self.ModelPath:
            raise ModelError(f"{self.name}: ModelPath is not set")
        if self.SidecarPath and not Path(self.SidecarPath).is_file():
            raise ModelError(f"{self.name}: SidecarPath {self.SidecarPath}: no such file")
        options: dict[str, Any] = {"device": self.Device, "nan_policy": self.NanPolicy}
        backend_kind = self.Backend or None
        kind = choose_backend(self.ModelPath, backend_kind)
        if kind == "onnxruntime":
            options.update(intra_op_threads=self.IntraOpThreads, inter_op_threads=self.InterOpThreads)
            if self.ExecutionProviders:
                options["providers"] = list(self.ExecutionProviders)
        load = get_model if self.SharedSession else load_model
        self.model = load(self.ModelPath, backend_kind, sidecar=self.SidecarPath or None, **options)
        n_in, n_out = len(self.InputCollections), len(self.OutputCollections)
        required, optional = self.model.inputs, self.model.optional_inputs
        if not len(required) <= n_in <= len(required) + len(optional):
            extra = f" and {len(optional)} optional: {', '.join(str(s) for s in optional)}" if optional else ""
            raise ModelError(
                f"{self.name}: {n_in} InputCollections {list(self.InputCollections)} but model {self.ModelPath} has "
                f"{len(required)} input(s): {', '.join(str(s) for s in required)}{extra}"
            )
        fed = [*required, *optional[: n_in - len(required)]]
        self._check_dtypes(fed)
        if kind == "onnxruntime" and n_out != len(self.model.outputs):
            raise ModelError(
                f"{self.name}: {n_out} OutputCollections {list(self.OutputCollections)} but model {self.ModelPath} "
                f"has {len(self.model.outputs)} output(s): {', '.join(str(s) for s in self.model.outputs)}"
            )
        self.engine = InferenceEngine(self.model, batch_size=self.BatchSize, preprocess=self.Preprocess,
                                      cast=self.CastInputs, inputs=[s.name for s in fed])  # fmt: skip
        self.debug(self.model.describe())

    def _check_dtypes(self, fed: list) -> None:
        """Refuse, before any event, inputs a Tensor collection cannot feed (without CastInputs) and outputs
        no Tensor can hold."""
        holds = set(tensor.DTYPES.values())
        if not self.CastInputs:  # (preprocessing gives float32 too)
            for s in fed:
                if s.dtype is not None and s.dtype not in holds:
                    raise ModelError(
                        f"{self.name}: model {self.ModelPath}: input '{s.name}' is {_dtype_text(s)}, but Tensor collections "
                        f"hold float32 or int64; set CastInputs=True to convert the features on each call"
                    )
        for s in self.model.outputs:
            known = s.dtype is not None and s.dtype.kind in "biuf"
            if not known and (s.dtype is not None or self.model.kind == "onnxruntime"):
                raise ModelError(
                    f"{self.name}: model {self.ModelPath}: output '{s.name}' is {_dtype_text(s)}, which no Tensor can hold "
                    f"(float32/int64; other numbers are converted); re-export the model without it or with a "
                    f"numeric type"
                )

    # ------------------------------------------------------------------ per event / per block
    def __call__(self, tensors: list) -> tuple[list]:
        return self.process_batch([(tensors,)])[0]

    def process_batch(self, events: list[tuple]) -> list[tuple[list]]:
        if not hasattr(self, "engine"):
            self.initialize()
        numbers = self.event_numbers if len(self.event_numbers) == len(events) else None
        n_in = len(self.InputCollections)
        for ev in events:  # the event loop always passes n_in collections; a direct caller may not
            if len(ev[0]) != n_in:
                raise ModelError(f"{self.name}: {len(ev[0])} input collection(s) given, InputCollections has {n_in}")
        by_input = [[ev[0][j] for ev in events] for j in range(n_in)]
        try:
            by_output = self.engine.run_columns(by_input, numbers)
        except Exception as e:
            # the event loop reports `event_number`: make it the event the error is about, not the block's first
            if numbers is not None and getattr(e, "event", None) is not None:
                self.event_number = e.event
            raise
        if events and len(by_output) != len(self.OutputCollections):  # torch/python models tell only when run
            raise ModelError(
                f"{self.name}: model {self.ModelPath} returned {len(by_output)} output(s) {self.model.output_names} "
                f"but {len(self.OutputCollections)} OutputCollections are configured {list(self.OutputCollections)}"
            )
        if len(by_output) == 1:
            return [([c],) for c in by_output[0]]
        return [(list(per_event),) for per_event in zip(*by_output)]


def _dtype_text(spec: Any) -> str:
    """float64, or the runtime's type (tensor(string), tensor(bfloat16)) where numpy has no name for it."""
    if spec.dtype is not None and spec.dtype.kind != "O":
        return str(spec.dtype)
    return spec.doc or str(spec.dtype)
