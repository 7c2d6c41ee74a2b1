"""The model contract: what a model expects and returns, and the checks every call goes through.

A `TensorSpec` is one input or output: its name (dots, slashes and other characters are kept
as the exporter wrote them), its shape (ints are fixed dimensions, strings are named dynamic
dimensions such as ``"batch_size"``, ``None`` is an unnamed dynamic dimension; ``shape=None``
means unknown rank) and its numpy dtype (``None`` if the backend cannot tell, e.g. TorchScript).

Errors (`ModelInputError` before the call, `ModelRunError` from inside the runtime, `ModelOutputError`
after it) name the model file, the tensor and expected vs given shape and dtype, because the usual
way these fail is a mis-wired configuration in a long job, and the message is all the user sees.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Dim = int | str | None


class ModelError(ValueError):
    """Base of the inference layer's errors about a model or its use."""


class ModelLoadError(ModelError):
    """The model file could not be loaded (corrupt, wrong format, unknown backend)."""


class ModelNotFoundError(ModelLoadError, FileNotFoundError):
    """The model file does not exist."""


class ModelInputError(ModelError):
    """A call does not match the model contract (names, shapes, dtypes, non-finite values)."""


class ModelOutputError(ModelError):
    """A model returned non-finite values (with nan_policy 'raise')."""


class ModelRunError(ModelError):
    """The runtime (onnxruntime, TorchScript, torch) failed while running the model on inputs that passed the
    contract check (a shape only the graph constrains, a dtype it cannot take, ...). The message names the
    model file and the inputs actually fed (name, dtype, shape) besides the runtime's own reason."""


#: maps a row of the array given to the model to (global event number, row within that event's tensor),
#: so that a batch of several events is blamed on the right one
RowLocator = Callable[[int], tuple[int, int]]


@dataclass(frozen=True)
class TensorSpec:
    """One model input or output."""

    name: str
    shape: tuple[Dim, ...] | None
    dtype: np.dtype | None
    doc: str = field(default="", compare=False)

    @property
    def rank(self) -> int | None:
        return None if self.shape is None else len(self.shape)

    @property
    def batch_dim(self) -> Dim:
        """The leading dimension (the batch axis by convention), or None if rank 0/unknown."""
        return self.shape[0] if self.shape else None

    @property
    def fixed_batch(self) -> int | None:
        """The leading dimension if it is fixed (e.g. 1 for an export without a dynamic batch axis)."""
        b = self.batch_dim
        return b if isinstance(b, int) and b >= 0 else None

    def shape_str(self) -> str:
        if self.shape is None:
            return "[?]"
        return "[" + ", ".join("?" if d is None else str(d) for d in self.shape) + "]"

    def __str__(self) -> str:
        dt = "?" if self.dtype is None else str(self.dtype)
        return f"{self.name} {self.shape_str()} {dt}"


def normalize_dim(d: Any) -> Dim:
    """ONNX/torch dimension -> int (fixed), str (named dynamic) or None (unnamed dynamic)."""
    if d is None:
        return None
    if isinstance(d, (int, np.integer)):
        return int(d) if d >= 0 else None
    if isinstance(d, str):
        return d or None
    try:
        return int(d)
    except (TypeError, ValueError):
        return str(d)


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def describe_feeds(feeds: dict[str, Any]) -> str:
    """`x float32 (3, 11), aux int64 (3,)`: the inputs actually fed, for messages."""
    parts = []
    for name, v in feeds.items():
        shape = getattr(v, "shape", None)
        dt = getattr(v, "dtype", None)
        if dt is not None and not isinstance(dt, np.dtype):  # torch
            dt = str(dt).replace("torch.", "")
        dims = "?" if shape is None else str(tuple(int(d) for d in shape))
        parts.append(f"'{name}' {dt} {dims}")
    return ", ".join(parts) or "no inputs"


_ORT_PREFIX = re.compile(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ")
_ORT_NODE = re.compile(r"(\w+) node\. Name:'([^']*)' Status Message: ")
_ORT_SOURCE = re.compile(r"(\S+\.(?:h|cc|cpp|cu):\d+ )(\S+\([^)]*\)(?: const)? )?(.*? was false\. )?")


def runtime_reason(err: BaseException, limit: int = 300) -> str:
    """The useful part of a runtime's error, on one short line: onnxruntime's status message without its
    source location, or the last `...Error: ...` line of a TorchScript interpreter traceback."""
    text = str(err).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if len(lines) > 1:  # TorchScript: "The following operation failed ... Traceback ... RuntimeError: why"
        errs = [ln for ln in lines if re.match(r"^[A-Za-z_.]*(Error|Exception):", ln)]
        text = errs[-1] if errs else lines[0]
    text = _ORT_PREFIX.sub("", text)
    text = text.replace("Error in execution: ", "").replace("Non-zero status code returned while running ", "")
    text = _ORT_NODE.sub(lambda m: f"{m[1]} node '{m[2]}': " if m[2] else f"{m[1]} node: ", text)
    text = _ORT_SOURCE.sub("", text)
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(". ", 0, limit)  # whole sentences where there are some
    return text[: cut + 1] if cut > limit // 3 else text[: limit - 3] + "..."


def check_inputs(
    model_name: str,
    specs: list[TensorSpec],
    feeds: dict[str, Any],
    nan_policy: str = "raise",
    locate: RowLocator | None = None,
    optional: Sequence[TensorSpec] = (),
) -> None:
    """Check a feed dict against the input specs; raise ModelInputError naming model, input and mismatch.

    `optional`: inputs the model has a default for (ONNX initializers listed as graph inputs); they may be
    left out, and are checked like the others when given.

    `nan_policy`: "raise" (default) rejects NaN/inf inputs, "warn" warns once per call, "ignore" skips
    the scan (saves one pass over the data for models known to handle them).
    """
    given_optional = [s for s in optional if s.name in feeds] if optional else []
    if len(feeds) != len(specs) + len(given_optional) or not all(s.name in feeds for s in specs):
        known = {s.name for s in specs} | {s.name for s in optional}
        unknown = [k for k in feeds if k not in known]
        if unknown:
            extra = f" (optional: {[s.name for s in optional]})" if optional else ""
            raise ModelInputError(
                f"model {model_name}: unknown input name(s) {unknown}; the model's inputs are "
                f"{[s.name for s in specs]}{extra}"
            )
        missing = [s.name for s in specs if s.name not in feeds]
        raise ModelInputError(
            f"model {model_name}: missing input(s) {missing}; the model's inputs are {[s.name for s in specs]}"
        )
    named: dict[str, tuple[int, str]] = {}
    for spec in [*specs, *given_optional] if given_optional else specs:
        arr = feeds[spec.name]
        shape = arr.shape
        dtype = arr.dtype if isinstance(arr.dtype, np.dtype) else _dtype_of(arr)
        # messages are built only on failure: this runs on every call, in front of sub-10-us model calls
        if spec.dtype is not None and dtype != spec.dtype and not (spec.dtype.kind == "O" and dtype.kind in "OUS"):
            raise ModelInputError(
                f"model {model_name}: input '{spec.name}': wrong dtype; {_expect_given(spec, arr, dtype)}"
            )
        if spec.shape is not None:
            if len(shape) != len(spec.shape):
                raise ModelInputError(
                    f"model {model_name}: input '{spec.name}': wrong rank {len(shape)} (model wants "
                    f"{len(spec.shape)}); {_expect_given(spec, arr, dtype)}"
                )
            for axis, want in enumerate(spec.shape):
                got = shape[axis]
                if want is None:
                    continue
                if want.__class__ is int:
                    if want != got:
                        raise ModelInputError(
                            f"model {model_name}: input '{spec.name}': axis {axis} must be {want}; "
                            f"{_expect_given(spec, arr, dtype)}"
                        )
                else:
                    seen = named.get(want)
                    if seen is None:
                        named[want] = (int(got), spec.name)
                    elif seen[0] != got:
                        raise ModelInputError(
                            f"model {model_name}: input '{spec.name}': dimension '{want}' is {got} but input "
                            f"'{seen[1]}' has {seen[0]} for it; {_expect_given(spec, arr, dtype)}"
                        )
        if nan_policy != "ignore" and dtype.kind in "fc":
            check_finite(model_name, spec.name, arr, nan_policy, "input", locate)


def _expect_given(spec: TensorSpec, arr: Any, dtype: np.dtype) -> str:
    want = spec.dtype if spec.dtype is not None else "any"
    return (
        f"expected shape {spec.shape_str()} dtype {want}, "
        f"given shape {_shape_text(tuple(int(s) for s in arr.shape))} dtype {dtype}"
    )


def _dtype_of(arr: Any) -> np.dtype:
    dt = arr.dtype
    if isinstance(dt, np.dtype):
        return dt
    import torch

    return np.dtype(torch.empty(0, dtype=dt).numpy().dtype)


def _all_finite(a: np.ndarray) -> bool:
    """True if no NaN/inf. Small arrays: the element-wise test. Larger ones: the sum of squares (one BLAS dot, at memory speed) is finite when every value is;
    only when it is not (non-finite values, or squares overflowing) is the exact element-wise test run."""
    if a.size == 0:
        return True
    if a.size <= 4096:  # small (one event's rows): the element-wise test is cheaper than the error-state switch
        return bool(np.isfinite(a).all())
    if a.dtype in (np.float32, np.float64) and a.flags.c_contiguous:
        flat = a.reshape(-1)
        with np.errstate(all="ignore"):
            s = float(np.dot(flat, flat))
        if s - s == 0.0:  # finite
            return True
    return bool(np.isfinite(a).all())


def check_finite(
    model_name: str,
    name: str,
    arr: Any,
    policy: str = "raise",
    kind: str = "input",
    locate: RowLocator | None = None,
) -> None:
    """Reject (or warn about) NaN/inf in input or output `name`; the exact place is looked up only on failure.

    `locate` turns the first bad row into (event number, row in that event) for batches of events; the
    error then carries that number as `.event` so the event loop can report it."""
    if isinstance(arr, np.ndarray):
        if _all_finite(arr):
            return
        a = arr
    else:  # torch
        import torch

        if bool(torch.isfinite(arr).all()):
            return
        a = arr.detach().cpu().numpy()
    flat = np.flatnonzero(~np.isfinite(a))
    where = [int(i) for i in np.unravel_index(flat[0], a.shape)]
    n_nan = int(np.isnan(a).sum())
    n_inf = flat.size - n_nan
    event = None
    place = f"{kind} '{name}'"
    if locate is not None and where:
        event, where[0] = locate(where[0])
        place += f" of event {event}"
    fix = (
        "fix the producer, clean with preprocessing (replace_inf_value)"
        if kind == "input"
        else "check the model and the range of its inputs"
    )
    msg = (
        f"model {model_name}: {place} holds {n_nan} NaN and {n_inf} inf value(s) (first at index "
        f"{tuple(where)}); {fix}, or set nan_policy (NanPolicy) 'warn'/'ignore' to pass them on"
    )
    if policy == "warn":
        import warnings

        warnings.warn(msg, RuntimeWarning, stacklevel=3)
        return
    err = ModelInputError(msg) if kind == "input" else ModelOutputError(msg)
    err.event = event
    raise err
