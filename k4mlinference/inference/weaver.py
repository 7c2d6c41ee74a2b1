"""weaver's ``preprocess.json``: from per-jet ragged observables to the model's padded input tensors.

    from k4mlinference.inference import WeaverPreprocessor
    pre = WeaverPreprocessor.from_json("preprocess.json")
    inputs = pre(features)     # {"pf_features": float32 [n_jets, n_vars, length], ...}

`features` maps each variable name to a list of 1-D numpy arrays, one per jet (a constituent or
secondary-vertex observable per entry). Every input group of the JSON (``input_names``) becomes one
float32 array ``[n_jets, n_vars, length]``, filled the way CMSSW's and FCCAnalyses' weaver readers do:

- a non-finite raw value is replaced by ``replace_inf_value``;
- ``(x - median) * norm_factor`` clipped to ``[lower_bound, upper_bound]``;
- positions beyond the jet's own entries hold ``pad``;
- length: ``var_length`` (fixed), or, when the group has ``min_length``/``max_length``, each jet's own
  length clamped to that range (the array is as long as the longest clamped jet, at least 1).

JSON layouts read (weaver has written several since 2019): the current one (``var_infos`` with ``pad``,
``var_length``), the older one without ``pad`` (pad 0, as CMSSW assumes), hand-edited/CMSSW ones with
``min_length``/``max_length``, and var_infos missing ``replace_inf_value`` or bounds (0 and no clipping,
weaver's own "no bound" of +-1e32). A variable listed in ``var_names`` without a ``var_infos`` entry is
an error naming the file, the group and the variable.

A jet without constituents is not an error: its rows are all ``pad`` (the documented default).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from k4mlinference.inference.spec import ModelInputError, ModelLoadError, TensorSpec

NO_BOUND = 1e32  # weaver's bound for variables that are not clipped


@dataclass
class InputGroup:
    """One model input: its variables (in the model's order) and their preprocessing constants."""

    name: str
    var_names: list[str]
    median: np.ndarray
    norm_factor: np.ndarray
    replace_inf_value: np.ndarray
    lower_bound: np.ndarray
    upper_bound: np.ndarray
    pad: np.ndarray
    var_length: int | None = None  # fixed length, or None when min/max_length apply
    min_length: int = 0
    max_length: int = 0

    def length_of(self, own: np.ndarray) -> int:
        """The padded length for jets of `own` lengths."""
        if self.var_length is not None:
            return self.var_length
        return max(int(np.clip(own, self.min_length, self.max_length).max(initial=0)), 1)


@dataclass
class WeaverPreprocessor:
    """weaver's preprocessing of jet-constituent observables (see the module docstring)."""

    input_names: list[str]
    groups: dict[str, InputGroup]
    output_names: list[str] = field(default_factory=list)
    source: str = "<dict>"

    @classmethod
    def from_json(cls, path: str | Path) -> WeaverPreprocessor:
        p = Path(path)
        if not p.is_file():
            raise ModelLoadError(f"weaver preprocessing JSON {p} does not exist")
        try:
            data = json.loads(p.read_text())
        except json.JSONDecodeError as exc:
            raise ModelLoadError(f"{p}: not valid JSON ({exc})") from exc
        return cls.from_dict(data, source=str(p))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<dict>") -> WeaverPreprocessor:
        if "input_names" not in data:
            raise ModelLoadError(f"{source}: no 'input_names': not a weaver preprocess JSON")
        groups = {}
        for name in data["input_names"]:
            if name not in data:
                raise ModelLoadError(f"{source}: input '{name}' is listed in input_names but has no entry")
            groups[name] = _group(name, data[name], source)
        return cls(list(data["input_names"]), groups, list(data.get("output_names", [])), source)

    @property
    def variables(self) -> list[str]:
        """Every variable the inputs need, in order of first use."""
        return list(dict.fromkeys(v for g in self.groups.values() for v in g.var_names))

    def __call__(self, features: Mapping[str, Sequence[np.ndarray]]) -> dict[str, np.ndarray]:
        missing = [v for v in self.variables if v not in features]
        if missing:
            raise ModelInputError(f"{self.source}: features lack variable(s) {missing}")
        return {name: self._fill(self.groups[name], features) for name in self.input_names}

    def _fill(self, g: InputGroup, features: Mapping[str, Sequence[np.ndarray]]) -> np.ndarray:
        first = features[g.var_names[0]]
        n = len(first)
        own = np.fromiter((len(a) for a in first), np.int64, n)
        length = g.length_of(own)
        out = np.empty((n, len(g.var_names), length), np.float32)
        out[:] = g.pad[None, :, None]
        take = np.minimum(own, length)
        starts = np.concatenate([[0], np.cumsum(own)[:-1]]) if n else own
        rows = np.repeat(np.arange(n), take)
        cols = np.arange(int(take.sum())) - np.repeat(np.cumsum(take) - take, take)
        src = np.repeat(starts, take) + cols  # positions in the concatenated raw arrays
        for k, var in enumerate(g.var_names):
            jets = features[var]
            lens = np.fromiter((len(a) for a in jets), np.int64, len(jets))
            if len(jets) != n or not np.array_equal(lens, own):
                raise ModelInputError(
                    f"{self.source}: input '{g.name}': variable '{var}' has other per-jet lengths than "
                    f"'{g.var_names[0]}' (all variables of one input describe the same objects)"
                )
            if not len(src):
                continue
            raw = np.concatenate([np.asarray(a, np.float64).ravel() for a in jets])[src]
            raw = np.where(np.isfinite(raw), raw, g.replace_inf_value[k])
            out[rows, k, cols] = np.clip((raw - g.median[k]) * g.norm_factor[k], g.lower_bound[k], g.upper_bound[k])
        return out

    def check_model(self, inputs: Sequence[TensorSpec], model: str = "model") -> None:
        """Raise ModelInputError unless the model's inputs are exactly this JSON's, with n_vars matching."""
        names = [s.name for s in inputs]
        if sorted(names) != sorted(self.input_names):
            raise ModelInputError(
                f"{model} has inputs {names} but {self.source} describes {self.input_names}: "
                "the model and its preprocessing JSON do not belong together"
            )
        for spec in inputs:
            nvar = len(self.groups[spec.name].var_names)
            if spec.shape is not None and len(spec.shape) >= 2 and isinstance(spec.shape[1], int):
                if spec.shape[1] != nvar:
                    raise ModelInputError(
                        f"{model}: input '{spec.name}' takes {spec.shape[1]} variables, {self.source} lists {nvar}"
                    )


def _group(name: str, entry: Mapping[str, Any], source: str) -> InputGroup:
    var_names = list(entry.get("var_names", []))
    if not var_names:
        raise ModelLoadError(f"{source}: input '{name}' has no var_names")
    infos = entry.get("var_infos", {})
    if isinstance(infos, list):  # a list in var_names' order, as some converted JSONs have it
        infos = dict(zip(var_names, infos))
    lacking = [v for v in var_names if v not in infos]
    if lacking:
        raise ModelLoadError(f"{source}: input '{name}': var_infos has no entry for {lacking}")

    def col(key: str, default: float) -> np.ndarray:
        return np.array([float(infos[v].get(key, default)) for v in var_names], np.float64)

    var_length = entry.get("var_length")
    if "min_length" in entry or "max_length" in entry:
        max_length = int(entry.get("max_length", var_length or 0))
        min_length = int(entry.get("min_length", 0))
        if max_length <= 0 or min_length > max_length:
            raise ModelLoadError(f"{source}: input '{name}': bad min_length/max_length {min_length}/{max_length}")
        var_length = None
    elif var_length is None:
        raise ModelLoadError(f"{source}: input '{name}' has neither var_length nor min_length/max_length")
    else:
        min_length = max_length = int(var_length)
    return InputGroup(
        name=name,
        var_names=var_names,
        median=col("median", 0.0),
        norm_factor=col("norm_factor", 1.0),
        replace_inf_value=col("replace_inf_value", 0.0),
        lower_bound=col("lower_bound", -NO_BOUND),
        upper_bound=col("upper_bound", NO_BOUND),
        pad=col("pad", 0.0),
        var_length=None if var_length is None else int(var_length),
        min_length=min_length,
        max_length=max_length,
    )


def write_json(
    path: str | Path,
    groups: Mapping[str, Mapping[str, Any]],
    output_names: Sequence[str],
) -> None:
    """Write weaver's current layout. `groups` maps each input name to {"var_names", "var_infos",
    "var_length"} as weaver's `export_json` writes them (used by our own training script)."""
    data: dict[str, Any] = {"output_names": list(output_names), "input_names": list(groups)}
    for name, g in groups.items():
        data[name] = {"var_names": list(g["var_names"]), "var_infos": g["var_infos"], "var_length": g["var_length"]}
    Path(path).write_text(json.dumps(data, indent=2))
