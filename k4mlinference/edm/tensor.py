"""edm4eic::Tensor collections <-> numpy arrays and torch tensors: the one Tensor API.

The Tensor layout (EDM4eic): `elementType` in ONNX's encoding (`FLOAT` = 1, `INT64` = 7), the
`shape` vector member (outermost first, row-major data) and the data in `floatData` or
`int64Data`. The dtype <-> elementType rule lives here only (`DTYPES`, `element_type_of`,
`dtype_of`); the C++ helpers below are generated from it.

For one Tensor (use cases, tests):

- `from_array(a, *more)`: a new collection, one Tensor per array (one copy each);
- `as_array(coll, index=0)` / `as_torch(coll, index=0)`: a view of the collection's memory (no copy),
  registered so that the collection refuses to grow while the view lives (see `edm.views`).

For the inference engine, one C++ call per block of events (cpp/src/tensor_ops.cpp, compiled once per
machine and called through C entry points), each
working on tensor 0 of every collection (EICrecon's one-Tensor-per-event convention):

- `describe(coll)` / `describe_many(colls)`: element type, shape and data address, validated;
- `view(coll)`: a numpy array over the collection's data, kept alive with it (not registered: for
  use inside one call, while nothing grows the collection);
- `gather(info, dst)`: tensors of many collections concatenated into one buffer (one memcpy each);
- `emplace(coll, shape, dtype)`: pre-size an output tensor and return a view a backend writes into;
  `new_emplaced(shape, dtype)` does it in a new collection;
- `scatter(colls, src, rows)`: collection i gets the next rows[i] rows of `src` as its tensor;
  `scatter_new(src, rows)` makes those collections in the same C++ call.
"""

from __future__ import annotations

import ctypes
import threading
from types import SimpleNamespace
from typing import Any

import numpy as np

FLOAT = 1  # ONNX TensorProto.FLOAT
INT64 = 7  # ONNX TensorProto.INT64
DTYPES = {FLOAT: np.dtype("float32"), INT64: np.dtype("int64")}  # elementType -> numpy dtype
MEMBERS = {FLOAT: "floatData", INT64: "int64Data"}  # elementType -> data vector member
MAX_RANK = 16

# columns of a `describe_many` row: status, elementType, rank, number of values, data address, shape...
STATUS, ELEMENT_TYPE, RANK, SIZE, ADDRESS, SHAPE = range(6)

_BY_DTYPE = {dt: et for et, dt in DTYPES.items()}


class TensorError(ValueError):
    """A Tensor's element type, dtype or shape is not what was expected."""


def element_type_of(dtype: Any) -> int:
    """elementType for a numpy dtype (float32 -> 1, int64 -> 7); TensorError for any other."""
    et = _BY_DTYPE.get(np.dtype(dtype))
    if et is None:
        raise TensorError(
            f"edm4eic::Tensor holds float32 (elementType 1) or int64 (elementType 7), not {np.dtype(dtype)}"
        )
    return et


def dtype_of(element_type: int) -> np.dtype:
    """numpy dtype for an elementType; TensorError for an unsupported one."""
    dt = DTYPES.get(int(element_type))
    if dt is None:
        raise TensorError(f"unsupported elementType {element_type}; supported: 1 (float) and 7 (int64)")
    return dt


def _numpy(array: Any) -> np.ndarray:
    if hasattr(array, "detach") and hasattr(array, "cpu"):  # torch.Tensor (no copy on CPU)
        array = array.detach().cpu().numpy()
    return np.asarray(array)


def storable(array: Any) -> np.ndarray:
    """`array` as numpy in a dtype a Tensor holds: integers and bools -> int64, other numbers -> float32.

    Float32/int64 arrays are returned as they are; other dtypes are converted (a copy). Torch tensors
    are taken as numpy first (no copy on CPU).
    """
    a = _numpy(array)
    if a.dtype in _BY_DTYPE:
        return a
    return a.astype(np.int64 if a.dtype.kind in "biu" else np.float32)


# ---------------------------------------------------------------------------------------- C++ helpers
# cpp/src/tensor_ops.cpp, compiled once per machine (edm.loader.native_library) and called through its C entry
# points: one call per block of events, and nothing for cling to parse or JIT in any process.
NATIVE_DEFINES = {"K4ML_FLOAT": FLOAT, "K4ML_INT64": INT64, "K4ML_MAX_RANK": MAX_RANK}  # the rule, for C++
_P, _Z, _I, _L = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int64
_SIGNATURES = {
    "describe": (None, [_P, _Z, _P]),
    "describe_many": (None, [_P, _Z, _P]),
    "gather": (None, [_P, _P, _Z, _P]),
    "emplace": (_P, [_P, _I, _P, _I]),
    "scatter": (None, [_P, _Z, _I, _P, _P, _I, _P, _L]),
    "scatter_new": (None, [_P, _Z, _I, _P, _P, _I, _P, _L]),
    "new_emplace": (_P, [_I, _P, _I, _P]),
}

_lock = threading.Lock()
_ns: Any = None
_addressof: Any = None
_bind: Any = None
_TC: Any = None


def _cpp() -> Any:
    """The compiled helpers (built on first use on a machine, then loaded from the cache), as a namespace of
    ctypes functions; loads the EDM first."""
    global _ns, _addressof, _bind, _TC
    if _ns is None:
        with _lock:
            if _ns is None:
                import cppyy
                import cppyy.ll

                from k4mlinference import edm
                from k4mlinference.edm import loader

                edm.load()
                path = loader.native_library("tensor_ops", NATIVE_DEFINES)
                lib = ctypes.CDLL(str(path))
                fns = {}
                for name, (res, args) in _SIGNATURES.items():
                    f = getattr(lib, f"k4ml_tensor_{name}")
                    f.restype, f.argtypes = res, args
                    fns[name] = f
                _addressof = cppyy.ll.addressof
                _bind = cppyy.bind_object
                _TC = cppyy.gbl.edm4eic.TensorCollection
                _ns = SimpleNamespace(**fns)
    return _ns


def empty_collection() -> Any:
    """A new, empty edm4eic::TensorCollection (loads the datamodels on first use)."""
    _cpp()
    return _TC()


def is_tensor_collection(coll: Any) -> bool:
    """True for an edm4eic::TensorCollection."""
    _cpp()
    return isinstance(coll, _TC)


def address(coll: Any) -> int:
    """C++ address of a collection."""
    _cpp()
    return _addressof(coll)


def addresses(colls: list[Any]) -> np.ndarray:
    """C++ addresses of many collections as an int64 array (what the batched helpers take)."""
    _cpp()
    return np.fromiter(map(_addressof, colls), np.int64, len(colls))


class _Memory:
    """Array interface over raw memory that keeps the memory's owner (a collection) alive."""

    __slots__ = ("__array_interface__", "owner")

    def __init__(self, interface: dict[str, Any], owner: Any) -> None:
        self.__array_interface__ = interface
        self.owner = owner


def array_at(addr: int, element_type: int, shape: tuple[int, ...], owner: Any = None) -> np.ndarray:
    """A numpy array over `addr` (the data of a Tensor); `owner` (its collection) is kept alive with it."""
    dtype = DTYPES.get(element_type) or dtype_of(element_type)
    if addr == 0 or 0 in shape:
        return np.zeros(shape, dtype)
    return np.asarray(_Memory({"data": (addr, False), "typestr": dtype.str, "shape": shape, "version": 3}, owner))


_PROBLEMS = {
    1: "the collection holds no Tensor at index {index} (one Tensor per collection per event is expected)",
    2: f"the Tensor has rank above {MAX_RANK}",
    3: "unsupported elementType {etype}; supported: 1 (float) and 7 (int64)",
    4: "shape {shape} needs {expected} values but {member} holds {size}",
}


def check(row: np.ndarray, what: str = "", index: int = 0) -> None:
    """Raise TensorError naming `what` if the `describe_many` row reports a problem."""
    status = int(row[STATUS])
    if not status:
        return
    etype = int(row[ELEMENT_TYPE])
    shape = tuple(int(x) for x in row[SHAPE : SHAPE + int(row[RANK])]) if status == 4 else ()
    detail = _PROBLEMS[status].format(
        index=index,
        etype=etype,
        shape=shape,
        expected=int(np.prod(shape)),
        member=MEMBERS.get(etype, ""),
        size=int(row[SIZE]),
    )
    raise TensorError(f"{what}: {detail}" if what else detail)


_local = threading.local()


def _scratch() -> tuple[np.ndarray, int]:
    """A per-thread int64 row for describe() results (no allocation per call)."""
    buf = getattr(_local, "buf", None)
    if buf is None:
        row = np.empty(SHAPE + MAX_RANK, np.int64)
        buf = _local.buf = (row, row.ctypes.data)
    return buf


def describe(coll: Any, what: str = "Tensor collection", index: int = 0) -> tuple[int, tuple[int, ...], int]:
    """(elementType, shape, data address) of tensor `index` of `coll`; TensorError naming `what` if unusable."""
    ns = _ns if _ns is not None else _cpp()
    out, ptr = _scratch()
    ns.describe(_addressof(coll), index, ptr)
    row = out.tolist()
    if row[STATUS]:
        check(out, what, index)
    return row[ELEMENT_TYPE], tuple(row[SHAPE : SHAPE + row[RANK]]), row[ADDRESS]


def view(coll: Any, what: str = "Tensor collection") -> np.ndarray:
    """Tensor 0 of `coll` as a numpy array over the collection's own memory (no copy, not registered)."""
    etype, shape, addr = describe(coll, what)
    return array_at(addr, etype, shape, coll)


def describe_many(colls: list[Any]) -> np.ndarray:
    """Rows (columns STATUS, ELEMENT_TYPE, RANK, SIZE, ADDRESS, SHAPE...) for tensor 0 of each collection."""
    ns = _cpp()
    addrs = addresses(colls)
    out = np.empty((len(colls), SHAPE + MAX_RANK), np.int64)
    if len(colls):
        ns.describe_many(addrs.ctypes.data, len(colls), out.ctypes.data)
    return out


def gather(info: np.ndarray, dst: np.ndarray) -> None:
    """Copy the tensors described by `info` (rows of `describe_many`) one after the other into `dst`."""
    ns = _cpp()
    srcs = np.ascontiguousarray(info[:, ADDRESS])
    nbytes = info[:, SIZE] * dst.dtype.itemsize
    if int(nbytes.sum()) != dst.nbytes:
        raise TensorError(f"gather: the tensors hold {int(nbytes.sum())} bytes, the buffer {dst.nbytes}")
    ns.gather(srcs.ctypes.data, nbytes.ctypes.data, len(info), dst.ctypes.data)


def emplace(coll: Any, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """Append a zero-filled tensor of `shape` to `coll` and return a numpy view of its data.

    The caller (or a backend) writes the values through the view: the output goes straight into
    the collection's buffer. The collection must not grow while the view is used.
    """
    ns = _ns if _ns is not None else _cpp()
    etype = _BY_DTYPE.get(dtype) or element_type_of(dtype)
    shp = np.array(shape, np.int64)
    addr = ns.emplace(_addressof(coll), etype, shp.ctypes.data, shp.size) or 0
    return array_at(addr, etype, tuple(shp.tolist()))


def new_emplaced(shape: tuple[int, ...], dtype: Any) -> tuple[Any, np.ndarray]:
    """(a new collection holding one zero-filled tensor of `shape`, a numpy view of that tensor's data), made
    in one C++ call: what a backend writes one event's output into. Python owns the collection."""
    ns = _ns if _ns is not None else _cpp()
    etype = _BY_DTYPE.get(dtype) or element_type_of(dtype)
    shp = np.array(shape, np.int64)
    out, ptr = _scratch()
    coll = _bind(ns.new_emplace(etype, shp.ctypes.data, shp.size, ptr), _TC)
    coll.__python_owns__ = True  # made with new in C++: Python deletes it like collections it made
    return coll, array_at(int(out[0]), etype, tuple(shp.tolist()))


def _row_blocks(src: np.ndarray, rows: np.ndarray) -> tuple[tuple[Any, ...], tuple[np.ndarray, ...]]:
    """The C++ arguments describing `src` cut into blocks of rows[i] rows (elementType, rows, per-row shape,
    rank, data, item size), after checking they fit; and the arrays they point into, to hold during the call."""
    src = np.ascontiguousarray(src)
    etype = element_type_of(src.dtype)
    rows = np.ascontiguousarray(rows, np.int64)
    n_rows = src.shape[0] if src.ndim else 1
    if int(rows.sum()) != n_rows:
        raise TensorError(f"scatter: {int(rows.sum())} rows requested, the batch has {n_rows}")
    inner = np.asarray(src.shape[1:], np.int64)
    args = (etype, rows.ctypes.data, inner.ctypes.data if len(inner) else None, len(inner), src.ctypes.data)
    return (*args, src.dtype.itemsize), (src, rows, inner)


def scatter(colls: list[Any], src: np.ndarray, rows: np.ndarray) -> None:
    """Give collection i a tensor made of the next rows[i] rows of `src` (one copy, one C++ call)."""
    ns = _cpp()
    if len(rows) != len(colls):
        raise TensorError(f"scatter: {len(rows)} row counts for {len(colls)} collections")
    args, held = _row_blocks(src, rows)
    addrs = addresses(colls)  # held here too: the C++ call reads it through a raw pointer
    ns.scatter(addrs.ctypes.data, len(colls), *args)
    del held, addrs


def scatter_new(src: np.ndarray, rows: np.ndarray) -> list[Any]:
    """len(rows) new collections, collection i holding the next rows[i] rows of `src` as its tensor.

    The collections are made and filled in one C++ call (what the engine does per output per block); Python
    takes them over (binding a proxy to an address costs a tenth of making the collection from Python)."""
    ns = _cpp()
    args, held = _row_blocks(src, rows)
    addrs = np.empty(len(rows), np.int64)
    ns.scatter_new(addrs.ctypes.data, len(rows), *args)
    del held
    colls = [_bind(a, _TC) for a in addrs.tolist()]
    for c in colls:
        c.__python_owns__ = True  # made with new in C++: Python deletes them like collections it made
    return colls


# ---------------------------------------------------------------------------------------- one Tensor
def fill(coll: Any, arrays: list[Any]) -> Any:
    """Append one Tensor per array (float32 or int64, numpy or torch) to `coll`; one copy each."""
    arrays = [_numpy(a) for a in arrays]
    for a in arrays:
        element_type_of(a.dtype)  # refuse other dtypes before adding anything (no silent conversion)
    for a in arrays:
        np.copyto(emplace(coll, a.shape, a.dtype), a)
    return coll


def from_array(array: Any, *more: Any) -> Any:
    """A new TensorCollection holding one Tensor per given array (float32 or int64)."""
    return fill(empty_collection(), [array, *more])


def as_array(coll: Any, index: int = 0) -> np.ndarray:
    """Tensor `index` of `coll` as a numpy array over the collection's memory (no copy).

    The view is registered with the collection: growing the collection while it lives raises."""
    n = len(coll)
    if not 0 <= index < n:
        raise IndexError(f"TensorCollection has {n} tensor(s); no index {index}")
    etype, shape, addr = describe(coll, f"Tensor {index}", index)
    flat = coll.vector_view(MEMBERS[etype])
    size = int(np.prod(shape)) if shape else 1
    begin = (addr - flat.ctypes.data) // flat.itemsize if size else 0
    return flat[begin : begin + size].reshape(shape)


def as_torch(coll: Any, index: int = 0):
    """Tensor `index` as a torch tensor sharing the collection's memory."""
    import torch

    return torch.from_numpy(as_array(coll, index))
