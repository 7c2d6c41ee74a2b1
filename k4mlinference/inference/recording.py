"""Training-data recording shared by MLInference and the plain engine API.

What a model saw is the ground truth for re-training: the inputs after the preprocessing the
inference applied, row for row, next to targets computed from the same event (e.g. from MC truth).
`TrainingRecorder` turns a user's target function into per-event target arrays and appends inputs
and targets to HDF5 through `k4mlinference.io.hdf5.HDF5Exporter` (one group per name, per-event
offsets), so training reads exactly what inference will see.

    rec = TrainingRecorder("train.h5", target_function="mypkg.truth:targets", target_names=["label"])
    for outputs, seen in engine.run_events(events, return_inputs=True):
        rec.record(seen, truth_collection)          # calls targets(seen, truth_collection)
    rec.close()

The target function is called as `function(model_inputs: dict[str, np.ndarray], *extra)` and returns
one array per target (rows first): an array, a tuple/list of arrays, or a dict by target name.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from k4mlinference.inference.backends import resolve_callable
from k4mlinference.inference.spec import ModelError


class TrainingRecorder:
    """Targets from a user function, and optional per-event HDF5 export of inputs + targets."""

    def __init__(
        self,
        hdf5_path: str = "",
        target_function: Any = None,
        input_names: list[str] | None = None,
        target_names: list[str] | None = None,
        mode: str = "w",
        source: str = "",
        owner: str = "TrainingRecorder",
    ) -> None:
        self.owner = owner
        self.target_function = (
            resolve_callable(target_function) if isinstance(target_function, str) else target_function
        )
        self.input_names = list(input_names or [])  # HDF5 names for the model inputs (default: the model's)
        self.target_names = list(target_names or [])
        if self.target_names and self.target_function is None:
            raise ModelError(f"{owner}: target names {self.target_names} are set but no target function")
        self.exporter = None
        if hdf5_path:
            from k4mlinference.io.hdf5 import HDF5Exporter

            self.exporter = HDF5Exporter(hdf5_path, mode=mode, source=source or owner)

    def targets(self, inputs_seen: dict[str, np.ndarray], *extra: Any) -> list[np.ndarray]:
        """The target arrays of one event (empty list without a target function)."""
        if self.target_function is None:
            return []
        res = self.target_function(inputs_seen, *extra)
        names = self.target_names
        if isinstance(res, dict):
            missing = [n for n in names if n not in res]
            if missing:
                raise ModelError(f"{self.owner}: the target function returned {list(res)}, lacking {missing}")
            arrays = [res[n] for n in names] if names else list(res.values())
        else:
            arrays = list(res) if isinstance(res, (tuple, list)) else [res]
        if names and len(arrays) != len(names):
            raise ModelError(f"{self.owner}: the target function returned {len(arrays)} array(s) for targets {names}")
        out = []
        for a in arrays:
            a = np.asarray(a.detach().cpu().numpy() if hasattr(a, "detach") else a)
            out.append(a.reshape(1) if a.ndim == 0 else a)
        return out

    def write(self, inputs_seen: dict[str, np.ndarray], targets: list[np.ndarray]) -> None:
        """Append one event to the HDF5 file (if any)."""
        if self.exporter is None:
            return
        in_names = self.input_names or list(inputs_seen)
        arrays = {n: np.asarray(v) for n, v in zip(in_names, inputs_seen.values())}
        t_names = self.target_names or [f"target{j}" for j in range(len(targets))]
        arrays.update(zip(t_names, targets))
        self.exporter.write_arrays(arrays)

    def record(self, inputs_seen: dict[str, np.ndarray], *extra: Any) -> list[np.ndarray]:
        """Targets for one event, and the event written to HDF5; returns the targets."""
        targets = self.targets(inputs_seen, *extra)
        self.write(inputs_seen, targets)
        return targets

    def close(self) -> None:
        if self.exporter is not None:
            self.exporter.close()
            self.exporter = None

    def __enter__(self) -> TrainingRecorder:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
