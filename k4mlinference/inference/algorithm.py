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

Training-data side outputs (all optional):
- `SaveInputsAs=[...]`: one extra Tensor collection per model input holding exactly the tensor
  the model saw (after optional preprocessing/casting);
- `TargetFunction="module:function"` with `TargetInputs=[...]` (e.g. MC truth collections) and
  `TargetCollections=[...]`: the function is called per event as
  `function(model_inputs: dict[str, np.ndarray], *target_input_collections)` and returns one array
  (float32/int64, rows first) per target collection (an array, a tuple/list, or a dict by name);
- `HDF5Output="train.h5"`: the same inputs and targets appended per event to an HDF5 file through
  `k4mlinference.io.hdf5.HDF5Exporter` (datasets named as the SaveInputsAs/TargetCollections
  names, or the model's input names and `target<i>` when those are not set).
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    from k4mlinference.framework import Inputs, MultiTransformer, Outputs, Property
except ImportError:  # the package may not re-export them (yet)
    from k4mlinference.framework.algorithm import Inputs, MultiTransformer, Outputs, Property

from k4mlinference.inference import tensorio as tio
from k4mlinference.inference.engine import InferenceEngine, _tensor_dtype
from k4mlinference.inference.model import load_model
from k4mlinference.inference.recording import TrainingRecorder
from k4mlinference.inference.spec import ModelError

TENSOR = "edm4eic::TensorCollection"


class MLInference(MultiTransformer):
    """Run an ONNX / TorchScript / torch.export / Python model on Tensor collections (N in, M out), batching
    BatchSize events per call; optionally save the inputs the model saw and target tensors for training."""

    InputCollections = Inputs(["InputTensor"], type=TENSOR, doc="input Tensor collections, in the model's input order")
    TargetInputs = Inputs([], doc="collections passed to TargetFunction after the model inputs (e.g. MC truth)")
    OutputCollections = Outputs(
        ["OutputTensor"], type=TENSOR, doc="output Tensor collections, in the model's output order"
    )
    SaveInputsAs = Outputs(
        [], type=TENSOR, doc="names for copies of the tensors the model saw (one per input; [] = off)"
    )
    TargetCollections = Outputs([], type=TENSOR, doc="names of the target Tensor collections made by TargetFunction")

    ModelPath = Property(
        "",
        doc="model file: .onnx (onnxruntime), .pt (TorchScript), .pt2 (torch.export), or module:function",
        existing_file=True,
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
    NanPolicy = Property("raise", doc="NaN/inf in inputs: raise | warn | ignore")
    Preprocess = Property(False, doc="apply the sidecar JSON's preprocessing (centre/scale/clip/pad) before the model")
    CastInputs = Property(False, doc="convert inputs to the model's dtypes instead of rejecting a mismatch")
    SharedSession = Property(True, doc="share one loaded model per (file, options) in the process")
    TargetFunction = Property("", doc="module:function making target arrays per event (see the module doc)")
    HDF5Output = Property("", doc="HDF5 file to append the model inputs and targets to, per event ('' = off)")
    HDF5Mode = Property("w", doc="HDF5Output mode: w (new file, replaced at close) | a (append) | x")

    def initialize(self) -> None:
        if not self.ModelPath:
            raise ModelError(f"{self.name}: ModelPath is not set")
        options: dict[str, Any] = {"device": self.Device, "nan_policy": self.NanPolicy}
        backend_kind = self.Backend or None
        from k4mlinference.inference.backends import choose_backend

        kind = choose_backend(self.ModelPath, backend_kind)
        if kind == "onnxruntime":
            options.update(intra_op_threads=self.IntraOpThreads, inter_op_threads=self.InterOpThreads)
            if self.ExecutionProviders:
                options["providers"] = list(self.ExecutionProviders)
        self.model = load_model(self.ModelPath, backend_kind, shared=self.SharedSession, **options)
        n_in, n_out = len(self.InputCollections), len(self.OutputCollections)
        if n_in != len(self.model.inputs):
            raise ModelError(
                f"{self.name}: {n_in} InputCollections {list(self.InputCollections)} but model {self.ModelPath} has "
                f"{len(self.model.inputs)} input(s): {', '.join(str(s) for s in self.model.inputs)}"
            )
        if kind == "onnxruntime" and n_out != len(self.model.outputs):
            raise ModelError(
                f"{self.name}: {n_out} OutputCollections {list(self.OutputCollections)} but model {self.ModelPath} "
                f"has {len(self.model.outputs)} output(s): {', '.join(str(s) for s in self.model.outputs)}"
            )
        if self.SaveInputsAs and len(self.SaveInputsAs) != n_in:
            raise ModelError(
                f"{self.name}: SaveInputsAs needs one name per model input ({n_in}), got {list(self.SaveInputsAs)}"
            )
        if self.TargetCollections and not self.TargetFunction:
            raise ModelError(f"{self.name}: TargetCollections are set but TargetFunction is not")
        self.engine = InferenceEngine(self.model, batch_size=self.BatchSize, preprocess=self.Preprocess,
                                      cast=self.CastInputs)  # fmt: skip
        self.recorder = TrainingRecorder(
            self.HDF5Output,
            self.TargetFunction or None,
            input_names=list(self.SaveInputsAs) or self.model.input_names,
            target_names=list(self.TargetCollections),
            mode=self.HDF5Mode,
            source=f"{self.name}: {self.ModelPath}",
            owner=self.name,
        )
        self.debug(self.model.describe())

    # ------------------------------------------------------------------ per event / per block
    def __call__(self, tensors: list, target_inputs: list | None = None) -> tuple[list, list, list]:
        return self.process_batch([(tensors, target_inputs or [])])[0]

    def process_batch(self, events: list[tuple]) -> list[tuple[list, list, list]]:
        if not hasattr(self, "engine"):
            self.initialize()
        rec = self.recorder
        need_inputs = bool(self.SaveInputsAs) or rec.target_function is not None or rec.exporter is not None
        outs, seen = self.engine.run_collections([list(ev[0]) for ev in events], save_inputs=need_inputs)
        if outs and len(outs[0]) != len(self.OutputCollections):  # torch/python models tell only when run
            raise ModelError(
                f"{self.name}: model {self.ModelPath} returned {len(outs[0])} output(s) {self.model.output_names} "
                f"but {len(self.OutputCollections)} OutputCollections are configured {list(self.OutputCollections)}"
            )
        if not need_inputs:
            return [(o, [], []) for o in outs]
        results = []
        for i, ev in enumerate(events):
            saved = seen[i]
            inputs_seen = {n: tio.view(c) for n, c in zip(self.model.input_names, saved)}
            arrays = rec.record(inputs_seen, *(list(ev[1]) if len(ev) > 1 else []))
            targets = []
            for a in arrays if self.TargetCollections else []:
                a = _tensor_dtype(a)
                c = tio.new_collection()
                tio.scatter([c], a, np.array([a.shape[0]]))
                targets.append(c)
            results.append((outs[i], saved if self.SaveInputsAs else [], targets))
        return results

    def finalize(self) -> None:
        if getattr(self, "recorder", None) is not None:
            self.recorder.close()
