"""edm4eic::Tensor collections <-> numpy arrays and torch tensors.

The Tensor layout (EDM4eic): `elementType` in ONNX's encoding (1 = float, 7 = int64), the
`shape` vector member (outermost first, row-major data) and the data in `floatData` or
`int64Data`. Building a Tensor from an array copies once (into the collection's own vector);
reading one back is a view with no copy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FLOAT = 1  # ONNX TensorProto.FLOAT
INT64 = 7  # ONNX TensorProto.INT64
_ELEMENT_TYPES = {FLOAT: ("floatData", np.dtype("float32")), INT64: ("int64Data", np.dtype("int64"))}
_BY_DTYPE = {np.dtype("float32"): FLOAT, np.dtype("int64"): INT64}


class TensorError(ValueError):
    """A Tensor's element type, dtype or shape is not what was expected."""


def element_type_of(dtype: Any) -> int:
    dt = np.dtype(dtype)
    if dt not in _BY_DTYPE:
        raise TensorError(f"edm4eic::Tensor holds float32 (elementType 1) or int64 (elementType 7), not {dt}")
    return _BY_DTYPE[dt]


def _as_numpy(array: Any) -> np.ndarray:
    if hasattr(array, "detach") and hasattr(array, "cpu"):  # torch.Tensor
        array = array.detach().cpu().numpy()
    return np.asarray(array)


def fill(coll: Any, arrays: list[Any]) -> Any:
    """Append one Tensor per array to `coll` (an empty TensorCollection); one copy each."""
    arrays = [_as_numpy(a) for a in arrays]
    for a in arrays:
        element_type_of(a.dtype)
    n_float = sum(a.size for a in arrays if a.dtype == np.float32)
    n_int = sum(a.size for a in arrays if a.dtype == np.int64)
    n_shape = sum(a.ndim for a in arrays)
    if len(coll):
        raise TensorError("fill() expects an empty TensorCollection")
    coll.reserve(len(arrays))
    coll.m_vec_floatData.resize(n_float)
    coll.m_vec_int64Data.resize(n_int)
    coll.m_vec_shape.resize(n_shape)
    for _ in arrays:
        coll._cpp_create()
    d = coll.data_view()
    shapes = coll.vector_view("shape")
    floats = coll.vector_view("floatData")
    ints = coll.vector_view("int64Data")
    pos = {"floatData": 0, "int64Data": 0, "shape": 0}
    for i, a in enumerate(arrays):
        etype = element_type_of(a.dtype)
        d["elementType"][i] = etype
        s0 = pos["shape"]
        shapes[s0 : s0 + a.ndim] = a.shape
        d["shape_begin"][i], d["shape_end"][i] = s0, s0 + a.ndim
        pos["shape"] += a.ndim
        member, _ = _ELEMENT_TYPES[etype]
        other = "int64Data" if member == "floatData" else "floatData"
        b = pos[member]
        (floats if member == "floatData" else ints)[b : b + a.size] = a.reshape(-1)
        d[member + "_begin"][i], d[member + "_end"][i] = b, b + a.size
        pos[member] += a.size
        d[other + "_begin"][i] = d[other + "_end"][i] = pos[other]
    del d, shapes, floats, ints
    return coll


def from_array(array: Any, *more: Any) -> Any:
    """A new TensorCollection holding one Tensor per given array (float32 or int64)."""
    import cppyy

    if not hasattr(cppyy.gbl, "edm4eic"):  # first use: compile/load the datamodels
        from k4mlinference import edm

        edm.load()
    coll = cppyy.gbl.edm4eic.TensorCollection()
    return fill(coll, [array, *more])


def as_array(coll: Any, index: int = 0) -> np.ndarray:
    """Tensor `index` of `coll` as a numpy array over the collection's memory (no copy)."""
    n = len(coll)
    if not 0 <= index < n:
        raise IndexError(f"TensorCollection has {n} tensor(s); no index {index}")
    d = coll.data_view()[index]
    etype = int(d["elementType"])
    if etype not in _ELEMENT_TYPES:
        raise TensorError(f"Tensor {index}: unsupported elementType {etype}; supported: 1 (float) and 7 (int64)")
    member, dtype = _ELEMENT_TYPES[etype]
    shape = tuple(int(x) for x in coll.vector_view("shape")[d["shape_begin"] : d["shape_end"]])
    begin, end = int(d[member + "_begin"]), int(d[member + "_end"])
    expected = int(np.prod(shape)) if shape else 1
    if end - begin != expected:
        raise TensorError(f"Tensor {index}: shape {shape} needs {expected} values but {member} holds {end - begin}")
    flat = coll.vector_view(member)[begin:end]
    assert flat.dtype == dtype
    return flat.reshape(shape)


def as_torch(coll: Any, index: int = 0):
    """Tensor `index` as a torch tensor sharing the collection's memory."""
    import torch

    return torch.from_numpy(as_array(coll, index))
