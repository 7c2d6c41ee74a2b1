"""Fast, copy-aware access to edm4eic::Tensor collections for the inference layer.

`k4mlinference.edm.tensor` is the general, safe API (structured views, registry of live views).
Building those views costs tens of microseconds per call, which is more than a small model's
inference for one event. This module does the same job with a few JIT-compiled C++ helpers
that take raw addresses, so the per-event cost is one C++ call, and batches cost one call per
input for all events together:

- `describe(coll)`: element type, shape and data address of tensor 0 in one call;
- `view(coll)`: a numpy array over the collection's `floatData`/`int64Data` (no copy);
- `gather(colls, dst)`: concatenate tensor 0 of many collections into one buffer (one memcpy each);
- `emplace(coll, shape, dtype)`: pre-size an (empty) output collection and return a numpy view of
  its data, so a backend can write straight into it;
- `scatter(colls, src, rows)`: create one tensor per collection from consecutive rows of `src`.

The views here are *not* registered with `edm.views.REGISTRY`; they are only used inside one
inference call, while nothing can grow the collection.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

import numpy as np

from k4mlinference.edm.tensor import FLOAT, INT64, TensorError

MAX_RANK = 16
_DTYPES = {FLOAT: np.dtype(np.float32), INT64: np.dtype(np.int64)}
_CTYPES = {FLOAT: ctypes.c_float, INT64: ctypes.c_int64}
_ETYPE = {np.dtype(np.float32): FLOAT, np.dtype(np.int64): INT64}

_CPP = r"""
#include <cstring>
#include <cstdint>
namespace k4ml_inference {
using TC = edm4eic::TensorCollection;
// out: [status, elementType, rank, n_values, data address, shape...]; status 0 ok, 1 empty collection,
// 2 rank above max_rank, 3 unsupported element type, 4 size does not match the shape
inline void describe(std::intptr_t addr, std::size_t index, std::intptr_t out_addr, int max_rank) {
  std::int64_t* out = reinterpret_cast<std::int64_t*>(out_addr);
  const TC& c = *reinterpret_cast<const TC*>(addr);
  out[0] = 0;
  if (index >= c.m_data.size()) { out[0] = 1; return; }
  const auto& d = c.m_data[index];
  const int rank = static_cast<int>(d.shape_end - d.shape_begin);
  out[1] = d.elementType; out[2] = rank;
  if (rank > max_rank) { out[0] = 2; return; }
  std::int64_t expect = 1;
  for (int k = 0; k < rank; ++k) { out[5 + k] = c.m_vec_shape[d.shape_begin + k]; expect *= out[5 + k]; }
  if (d.elementType == 1) {
    out[3] = d.floatData_end - d.floatData_begin;
    out[4] = reinterpret_cast<std::intptr_t>(c.m_vec_floatData.data() + d.floatData_begin);
  } else if (d.elementType == 7) {
    out[3] = d.int64Data_end - d.int64Data_begin;
    out[4] = reinterpret_cast<std::intptr_t>(c.m_vec_int64Data.data() + d.int64Data_begin);
  } else { out[0] = 3; return; }
  if (out[3] != expect) out[0] = 4;
}
// Describe tensor 0 of n collections; out is n rows of (5 + max_rank) int64.
inline void describe_many(std::intptr_t addrs_addr, std::size_t n, std::intptr_t out_addr, int max_rank) {
  const std::int64_t* addrs = reinterpret_cast<const std::int64_t*>(addrs_addr);
  for (std::size_t i = 0; i < n; ++i)
    describe(static_cast<std::intptr_t>(addrs[i]), 0, out_addr + i * (5 + max_rank) * sizeof(std::int64_t), max_rank);
}
// Copy n blocks (address, bytes) one after the other into dst.
inline void gather(std::intptr_t srcs_addr, std::intptr_t nbytes_addr, std::size_t n, std::intptr_t dst) {
  const std::int64_t* srcs = reinterpret_cast<const std::int64_t*>(srcs_addr);
  const std::int64_t* nbytes = reinterpret_cast<const std::int64_t*>(nbytes_addr);
  char* p = reinterpret_cast<char*>(dst);
  for (std::size_t i = 0; i < n; ++i) {
    if (nbytes[i]) std::memcpy(p, reinterpret_cast<const void*>(srcs[i]), nbytes[i]);
    p += nbytes[i];
  }
}
// Append one tensor (etype, shape) to the collection, its data zero-initialised; return its data address.
inline std::intptr_t emplace_raw(std::intptr_t addr, int etype, const std::int64_t* shape, int rank) {
  TC& c = *reinterpret_cast<TC*>(addr);
  edm4eic::TensorData d{};
  d.elementType = etype;
  std::int64_t n = 1;
  for (int k = 0; k < rank; ++k) n *= shape[k];
  d.shape_begin = c.m_vec_shape.size();
  c.m_vec_shape.insert(c.m_vec_shape.end(), shape, shape + rank);
  d.shape_end = c.m_vec_shape.size();
  d.floatData_begin = d.floatData_end = c.m_vec_floatData.size();
  d.int64Data_begin = d.int64Data_end = c.m_vec_int64Data.size();
  std::intptr_t data = 0;
  if (etype == 1) {
    c.m_vec_floatData.resize(c.m_vec_floatData.size() + n);
    d.floatData_end = c.m_vec_floatData.size();
    data = reinterpret_cast<std::intptr_t>(c.m_vec_floatData.data() + d.floatData_begin);
  } else {
    c.m_vec_int64Data.resize(c.m_vec_int64Data.size() + n);
    d.int64Data_end = c.m_vec_int64Data.size();
    data = reinterpret_cast<std::intptr_t>(c.m_vec_int64Data.data() + d.int64Data_begin);
  }
  c.m_data.push_back(d);
  return data;
}
inline std::intptr_t emplace(std::intptr_t addr, int etype, std::intptr_t shape_addr, int rank) {
  return emplace_raw(addr, etype, reinterpret_cast<const std::int64_t*>(shape_addr), rank);
}
// For each collection i: append a tensor of shape (rows[i], inner...) filled from consecutive rows of src.
inline void scatter(std::intptr_t addrs_addr, std::size_t n, int etype, std::intptr_t rows_addr,
                    std::intptr_t inner_addr, int inner_rank, std::intptr_t src, std::int64_t itemsize) {
  const std::int64_t* addrs = reinterpret_cast<const std::int64_t*>(addrs_addr);
  const std::int64_t* rows = reinterpret_cast<const std::int64_t*>(rows_addr);
  const std::int64_t* inner = reinterpret_cast<const std::int64_t*>(inner_addr);
  std::int64_t row_values = 1;
  for (int k = 0; k < inner_rank; ++k) row_values *= inner[k];
  std::int64_t shape[17];
  for (int k = 0; k < inner_rank; ++k) shape[k + 1] = inner[k];
  const char* p = reinterpret_cast<const char*>(src);
  for (std::size_t i = 0; i < n; ++i) {
    shape[0] = rows[i];
    const std::int64_t nbytes = rows[i] * row_values * itemsize;
    std::intptr_t dst = emplace_raw(static_cast<std::intptr_t>(addrs[i]), etype, shape, inner_rank + 1);
    if (nbytes) std::memcpy(reinterpret_cast<void*>(dst), p, nbytes);
    p += nbytes;
  }
}
}
"""

_lock = threading.Lock()
_ns: Any = None
_addressof: Any = None
_TC: Any = None


def _cpp() -> Any:
    """The JIT-compiled helpers (compiled once per process, after the EDM is loaded)."""
    global _ns, _addressof, _TC
    if _ns is None:
        with _lock:
            if _ns is None:
                import cppyy
                import cppyy.ll

                from k4mlinference import edm

                edm.load()
                cppyy.cppdef(_CPP)
                _addressof = cppyy.ll.addressof
                _TC = cppyy.gbl.edm4eic.TensorCollection
                _ns = cppyy.gbl.k4ml_inference
    return _ns


def new_collection() -> Any:
    """An empty edm4eic::TensorCollection."""
    _cpp()
    return _TC()


def address(coll: Any) -> int:
    """C++ address of a collection (for the helpers)."""
    _cpp()
    return _addressof(coll)


def _array_at(addr: int, etype: int, shape: tuple[int, ...]) -> np.ndarray:
    n = 1
    for s in shape:
        n *= s
    dtype = _DTYPES[etype]
    if n == 0 or addr == 0:
        return np.zeros(shape, dtype)
    buf = (_CTYPES[etype] * n).from_address(addr)
    return np.frombuffer(buf, dtype=dtype).reshape(shape)


_STATUS = {
    1: "the collection holds no Tensor (one Tensor per collection per event is expected)",
    2: f"the Tensor has rank above {MAX_RANK}",
    3: "unsupported elementType (supported: 1 = float, 7 = int64)",
    4: "the Tensor's data size does not match its shape",
}


def _check_status(row: np.ndarray, what: str) -> None:
    status = int(row[0])
    if status:
        detail = _STATUS[status]
        if status == 3:
            detail = f"unsupported elementType {int(row[1])} (supported: 1 = float, 7 = int64)"
        elif status == 4:
            shape = tuple(int(x) for x in row[5 : 5 + int(row[2])])
            detail = f"shape {shape} needs {int(np.prod(shape))} values but the Tensor holds {int(row[3])}"
        raise TensorError(f"{what}: {detail}" if what else detail)


_local = threading.local()


def _scratch() -> tuple[np.ndarray, int]:
    """A per-thread int64 buffer for describe() results (no allocation per call)."""
    buf = getattr(_local, "buf", None)
    if buf is None:
        buf = _local.buf = (np.empty(5 + MAX_RANK, np.int64),)
        buf = _local.buf = (buf[0], buf[0].ctypes.data)
    return buf


def describe(coll: Any, what: str = "Tensor collection") -> tuple[int, tuple[int, ...], int]:
    """(elementType, shape, data address) of tensor 0 of `coll`; raises TensorError if unusable."""
    ns = _ns if _ns is not None else _cpp()
    out, ptr = _scratch()
    ns.describe(_addressof(coll), 0, ptr, MAX_RANK)
    row = out.tolist()
    if row[0]:
        _check_status(out, what() if callable(what) else what)
    return row[1], tuple(row[5 : 5 + row[2]]), row[4]


def view(coll: Any, what: str = "Tensor collection") -> np.ndarray:
    """Tensor 0 of `coll` as a numpy array over the collection's own memory (no copy)."""
    etype, shape, addr = describe(coll, what)
    return _array_at(addr, etype, shape)


def describe_many(colls: list[Any]) -> np.ndarray:
    """Rows of (status, elementType, rank, n_values, address, shape...) for tensor 0 of each collection."""
    ns = _cpp()
    addrs = np.fromiter((_addressof(c) for c in colls), np.int64, len(colls))
    out = np.empty((len(colls), 5 + MAX_RANK), np.int64)
    if len(colls):
        ns.describe_many(addrs.ctypes.data, len(colls), out.ctypes.data, MAX_RANK)
    return out


def gather(info: np.ndarray, dtype: np.dtype, dst: np.ndarray) -> None:
    """Copy the tensors described by `info` (from describe_many) one after the other into `dst`."""
    ns = _cpp()
    srcs = np.ascontiguousarray(info[:, 4])
    nbytes = info[:, 3] * np.dtype(dtype).itemsize
    ns.gather(srcs.ctypes.data, nbytes.ctypes.data, len(info), dst.ctypes.data)


def emplace(coll: Any, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """Append a zero-filled tensor of `shape` to `coll` and return a numpy view of its data.

    The caller (or a backend) writes the values through the view: the output goes straight into
    the collection's buffer. The collection must not grow while the view is used.
    """
    ns = _cpp()
    etype = _ETYPE.get(np.dtype(dtype))
    if etype is None:
        raise TensorError(f"edm4eic::Tensor holds float32 or int64, not {np.dtype(dtype)}")
    shp = np.asarray(shape, np.int64)
    addr = ns.emplace(_addressof(coll), etype, shp.ctypes.data, len(shape))
    return _array_at(int(addr), etype, tuple(int(s) for s in shape))


def scatter(colls: list[Any], src: np.ndarray, rows: np.ndarray) -> None:
    """Give collection i a tensor made of the next rows[i] rows of `src` (one copy, one C++ call)."""
    ns = _cpp()
    etype = _ETYPE.get(src.dtype)
    if etype is None:
        raise TensorError(f"edm4eic::Tensor holds float32 or int64, not {src.dtype}")
    src = np.ascontiguousarray(src)
    addrs = np.fromiter((_addressof(c) for c in colls), np.int64, len(colls))
    rows = np.ascontiguousarray(rows, np.int64)
    inner = np.asarray(src.shape[1:], np.int64)
    if int(rows.sum()) != src.shape[0]:
        raise TensorError(f"scatter: {int(rows.sum())} rows requested, the batch has {src.shape[0]}")
    ns.scatter(
        addrs.ctypes.data,
        len(colls),
        etype,
        rows.ctypes.data,
        inner.ctypes.data if len(inner) else 0,
        len(inner),
        src.ctypes.data,
        src.dtype.itemsize,
    )
