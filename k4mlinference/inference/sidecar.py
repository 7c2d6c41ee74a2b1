"""The optional JSON sidecar next to a model (`model.onnx` -> `model.json`): meaning and preprocessing.

Two layouts are read.

1. k4mlinference's own (keys in the order the model takes its inputs)::

    {
      "description": "Low-Q2 tagger reconstruction",
      "inputs": {
        "input": {"features": ["x", "y", ...], "centre": [...], "scale": [...],
                  "clip": [-5, 5], "replace_inf_value": 0, "pad_length": 50, "pad_value": 0,
                  "shape": ["batch", 6], "dtype": "float32"}
      },
      "outputs": {"output": {"classes": ["pion", "electron"], "shape": ["batch", 2], "dtype": "float32"}}
    }

   Preprocessing replaces non-finite inputs by ``replace_inf_value``, then computes
   ``(x - centre) / scale``, clips to ``clip`` and pads/truncates axis ``pad_axis`` (default: the
   last) to ``pad_length`` (or to the length clamped to [``min_length``, ``max_length``]); the pad
   value is used as is. Per-feature values broadcast along the last axis.
   ``shape``/``dtype`` are only needed for backends that cannot report them (TorchScript, callables).

2. weaver's ``preprocess.json`` (as read by CMSSW's ParticleNet producers and FCCAnalyses'
   WeaverInterface): ``input_names``; per input ``var_names``, ``var_infos`` {``median``,
   ``norm_factor``, ``replace_inf_value``, ``lower_bound``, ``upper_bound``, ``pad``} and
   ``var_length`` (or ``min_length``/``max_length``); ``output_names`` (class names of the output).
   The input layout there is ``[batch, n_vars, length]``: non-finite values replaced by
   ``replace_inf_value``, then ``(x - median) * norm_factor`` clipped to [lower_bound, upper_bound],
   the constituent axis padded with ``pad`` (the same order as CMSSW's and FCCAnalyses' readers).

Preprocessing is applied only when asked (`Model.run(..., preprocess=True)`, MLInference's
`Preprocess`), because in the usual Pre-ML/ML/Post-ML chain the Pre-ML algorithm already did it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from k4mlinference.inference.spec import ModelLoadError, TensorSpec, normalize_dim


@dataclass
class InputPreprocessing:
    """Per-feature transformation of one input; arrays broadcast along the feature axis."""

    name: str
    features: list[str] = field(default_factory=list)
    centre: np.ndarray | None = None
    factor: np.ndarray | None = None  # multiplier (1/scale, or weaver's norm_factor)
    replace_inf: np.ndarray | None = None
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    pad_value: np.ndarray | None = None
    length: int | None = None  # pad/truncate the last axis to this (fixed-length inputs)
    min_length: int | None = None
    max_length: int | None = None
    feature_axis: int = -1  # -1: [batch, features]; 1: weaver's [batch, vars, length]
    pad_axis: int = -1  # the axis padded/truncated to `length` (the constituent axis)

    def _b(self, v: np.ndarray | None, ndim: int) -> np.ndarray | None:
        """Broadcast a per-feature vector along the feature axis of an ndim array."""
        if v is None:
            return None
        if v.ndim == 0 or v.size == 1:
            return v.reshape(())
        axis = self.feature_axis % ndim
        shape = [1] * ndim
        shape[axis] = v.size
        return v.reshape(shape)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """The preprocessed copy of `x` (float32)."""
        y = np.array(x, dtype=np.float32, copy=True)
        nd = y.ndim
        if self.replace_inf is not None:  # on the raw value, before centring (as weaver's consumers do)
            bad = ~np.isfinite(y)
            if bad.any():
                y[bad] = np.broadcast_to(self._b(self.replace_inf, nd), y.shape)[bad]
        with np.errstate(all="ignore"):
            if self.centre is not None:
                y -= self._b(self.centre, nd)
            if self.factor is not None:
                y *= self._b(self.factor, nd)
        if self.lower is not None or self.upper is not None:
            lo = self._b(self.lower, nd) if self.lower is not None else None
            hi = self._b(self.upper, nd) if self.upper is not None else None
            np.clip(y, lo, hi, out=y)
        target = self.length
        ax = self.pad_axis % nd if nd else 0
        if target is None and (self.min_length or self.max_length) and nd >= 2:
            n = y.shape[ax]
            target = max(self.min_length or 0, min(n, self.max_length or n))
        if target is not None and nd >= 2 and y.shape[ax] != target:
            n = y.shape[ax]
            if n > target:
                y = np.ascontiguousarray(np.take(y, np.arange(target), axis=ax))
            else:
                shape = list(y.shape)
                shape[ax] = target
                pad = np.zeros(shape, np.float32)
                if self.pad_value is not None:
                    same_axis = self.feature_axis % nd == ax
                    pad[...] = (
                        self.pad_value.reshape(())
                        if same_axis or self.pad_value.size == 1
                        else self._b(self.pad_value, nd)
                    )
                index = [slice(None)] * nd
                index[ax] = slice(0, n)
                pad[tuple(index)] = y
                y = pad
        return y


@dataclass
class Sidecar:
    """What the JSON sidecar says about a model."""

    path: Path | None = None
    format: str = ""  # "k4ml" or "weaver"
    description: str = ""
    input_order: list[str] = field(default_factory=list)
    preprocessing: dict[str, InputPreprocessing] = field(default_factory=dict)
    output_classes: dict[str, list[str]] = field(default_factory=dict)
    input_specs: list[TensorSpec] = field(default_factory=list)  # only where shape/dtype are given
    output_specs: list[TensorSpec] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def preprocess(self, feeds: dict[str, Any]) -> dict[str, Any]:
        """Feeds with every input that has a preprocessing entry transformed (others unchanged)."""
        out = dict(feeds)
        for name, prep in self.preprocessing.items():
            if name in out:
                x = out[name]
                if hasattr(x, "detach"):
                    x = x.detach().cpu().numpy()
                out[name] = prep.apply(np.asarray(x))
        return out


def sidecar_path(model_path: str | Path) -> Path:
    """`model.onnx` -> `model.json` (the sidecar's conventional place)."""
    return Path(model_path).with_suffix(".json")


def _vec(values: Any) -> np.ndarray | None:
    if values is None:
        return None
    return np.asarray(values, dtype=np.float32)


def _spec(name: str, entry: dict[str, Any]) -> TensorSpec | None:
    if "shape" not in entry and "dtype" not in entry:
        return None
    shape = entry.get("shape")
    return TensorSpec(
        name,
        None if shape is None else tuple(normalize_dim(d) for d in shape),
        np.dtype(entry["dtype"]) if entry.get("dtype") else None,
    )


def parse(data: dict[str, Any], path: Path | None = None) -> Sidecar:
    """A Sidecar from the parsed JSON of either layout."""
    where = str(path) if path else "sidecar"
    if "input_names" in data:  # weaver
        sc = Sidecar(path=path, format="weaver", raw=data, input_order=list(data["input_names"]))
        for name in sc.input_order:
            if name not in data:
                raise ModelLoadError(f"{where}: weaver config lists input '{name}' but has no entry for it")
            group = data[name]
            names = list(group.get("var_names", []))
            infos = group.get("var_infos", {})

            def col(key: str, default: float, names: list[str] = names, infos: dict = infos) -> np.ndarray:
                return np.asarray([float(infos.get(v, {}).get(key, default)) for v in names], np.float32)

            fixed = group.get("var_length")
            sc.preprocessing[name] = InputPreprocessing(
                name=name,
                features=names,
                centre=col("median", 0.0),
                factor=col("norm_factor", 1.0),
                replace_inf=col("replace_inf_value", 0.0),
                lower=col("lower_bound", -np.inf),
                upper=col("upper_bound", np.inf),
                pad_value=col("pad", 0.0),
                length=int(fixed) if fixed is not None else None,
                min_length=group.get("min_length"),
                max_length=group.get("max_length"),
                feature_axis=1,
            )
        if "output_names" in data:
            sc.output_classes["*"] = list(data["output_names"])  # weaver: classes of the (only) output
        return sc
    sc = Sidecar(path=path, format="k4ml", raw=data, description=str(data.get("description", "")))
    for name, entry in (data.get("inputs") or {}).items():
        entry = entry or {}
        sc.input_order.append(name)
        spec = _spec(name, entry)
        if spec:
            sc.input_specs.append(spec)
        scale = _vec(entry.get("scale"))
        if scale is not None and np.any(scale == 0):
            raise ModelLoadError(f"{where}: input '{name}': scale contains 0")
        clip = entry.get("clip")
        prep = InputPreprocessing(
            name=name,
            features=list(entry.get("features", [])),
            centre=_vec(entry.get("centre", entry.get("center"))),
            factor=None if scale is None else (1.0 / scale).astype(np.float32),
            replace_inf=_vec(entry.get("replace_inf_value")),
            lower=_vec(clip[0]) if clip else None,
            upper=_vec(clip[1]) if clip else None,
            pad_value=_vec(entry.get("pad_value")),
            length=entry.get("pad_length"),
            min_length=entry.get("min_length"),
            max_length=entry.get("max_length"),
            pad_axis=int(entry.get("pad_axis", -1)),
        )
        if any(
            v is not None
            for v in (
                prep.centre,
                prep.factor,
                prep.replace_inf,
                prep.lower,
                prep.length,
                prep.min_length,
                prep.max_length,
            )
        ):
            sc.preprocessing[name] = prep
        elif prep.features:
            sc.preprocessing.setdefault(name, prep)
    for name, entry in (data.get("outputs") or {}).items():
        entry = entry or {}
        if "classes" in entry:
            sc.output_classes[name] = list(entry["classes"])
        spec = _spec(name, entry)
        if spec:
            sc.output_specs.append(spec)
    return sc


def load(path: str | Path) -> Sidecar:
    """Read and parse a sidecar JSON file (errors name the file)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as e:
        raise ModelLoadError(f"sidecar {p}: not readable JSON ({e})") from e
    if not isinstance(data, dict):
        raise ModelLoadError(f"sidecar {p}: expected a JSON object at the top level")
    return parse(data, p)


def find(model_path: str | Path) -> Sidecar | None:
    """The sidecar next to the model, if there is one."""
    p = sidecar_path(model_path)
    return load(p) if p.is_file() else None
