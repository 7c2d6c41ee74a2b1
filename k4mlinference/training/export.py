"""TrainingExport: a Consumer that appends the features (and targets) of every event to an HDF5 training file.

It puts EICrecon's habit (write feature and target Tensors with the events) next to the ROOT
output: the same Pre-ML code that feeds the model at inference time writes the training data,
so training reads exactly what inference will see. It sits beside `MLInference` in an options file,
reading the same Tensor collections:

    export = TrainingExport("Export", InputCollections=["PIDFeatures", "PIDTargets"], OutputFile="train.h5")

Targets come either as collections (put them in `InputCollections`) or from a user function:
`TargetFunction="module:function"` is called per event as
`function(features: dict[str, np.ndarray], *target_inputs)`, where `features` maps each Tensor
collection of `InputCollections` to its tensor 0 (other collection types are passed as they are)
and `target_inputs` are the `TargetInputs` collections (e.g. MC truth). It returns one array per
target (rows first): an array, a tuple/list of arrays, or a dict by name; they are written under
`TargetNames` (default `target0`, `target1`, ...).
"""

from __future__ import annotations

import numpy as np

from k4mlinference.edm import tensor
from k4mlinference.framework import Consumer, Inputs, Property
from k4mlinference.inference.callables import resolve_callable
from k4mlinference.inference.spec import ModelError


class TrainingExport(Consumer):
    """Append the InputCollections of every event, and targets from an optional TargetFunction, to an HDF5 file
    (k4mlinference.io.hdf5 layout: one group per name, columns or Tensor data plus event offsets), for the torch
    datasets in k4mlinference.training."""

    InputCollections = Inputs([], doc="collections (any type, Tensors included) to export per event")
    TargetInputs = Inputs([], doc="collections given to TargetFunction after the features (e.g. MC truth)")
    OutputFile = Property("training.h5", doc="HDF5 file to write")
    Mode = Property("w", doc="w: new file (replaced at the end) | a: append to an existing file | x: new file only")
    Compression = Property("gzip", doc="gzip | lzf | none")
    TargetFunction = Property("", doc="module:function making target arrays per event (see the module doc)")
    TargetNames = Property([], element_type=str, doc="names of TargetFunction's arrays in the file")

    def initialize(self) -> None:
        from k4mlinference.io.hdf5 import HDF5Exporter

        if (self.TargetNames or self.TargetInputs) and not self.TargetFunction:
            raise ModelError(f"{self.name}: TargetNames/TargetInputs are set but TargetFunction is not")
        self.target_function = resolve_callable(self.TargetFunction) if self.TargetFunction else None
        compression = None if self.Compression == "none" else self.Compression
        opts = 4 if compression == "gzip" else None
        self.exporter = HDF5Exporter(
            self.OutputFile, mode=self.Mode, source=f"k4run {self.name}", compression=compression, compression_opts=opts
        )

    def __call__(self, collections: list, target_inputs: list | None = None) -> None:
        targets = self.targets(collections, target_inputs or []) if self.target_function is not None else {}
        for name, coll in zip(self.InputCollections, collections):
            self.exporter.write_collection(name, coll)
        if targets:
            self.exporter.write_arrays(targets)

    def targets(self, collections: list, target_inputs: list) -> dict[str, np.ndarray]:
        """The target arrays of one event by name, from TargetFunction."""
        features = {
            name: (tensor.as_array(c) if tensor.is_tensor_collection(c) and len(c) else c)
            for name, c in zip(self.InputCollections, collections)
        }
        res = self.target_function(features, *target_inputs)
        names = list(self.TargetNames)
        if isinstance(res, dict):
            missing = [n for n in names if n not in res]
            if missing:
                raise ModelError(f"{self.name}: the target function returned {list(res)}, lacking {missing}")
            arrays = [res[n] for n in names] if names else list(res.values())
            names = names or [str(k) for k in res]
        else:
            arrays = list(res) if isinstance(res, (tuple, list)) else [res]
        if names and len(arrays) != len(names):
            raise ModelError(f"{self.name}: the target function returned {len(arrays)} array(s) for targets {names}")
        names = names or [f"target{j}" for j in range(len(arrays))]
        out = {}
        for n, a in zip(names, arrays):
            a = tensor.storable(a) if hasattr(a, "detach") else np.asarray(a)
            out[n] = a.reshape(1) if a.ndim == 0 else a
        return out

    def finalize(self) -> None:
        if getattr(self, "exporter", None) is not None:
            self.exporter.close()
            self.exporter = None
