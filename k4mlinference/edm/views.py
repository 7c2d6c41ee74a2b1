"""Zero-copy numpy/torch views over collection memory.

A collection keeps `std::vector<XData>` (array of structs), one `std::vector<ObjectID>` per
relation and one `std::vector<T>` per vector member. A view is a numpy array placed directly on
that memory: a structured array over XData, or a strided column (`momentum.x`) of it, or a
flat array over a vector member. Writes through a view are seen by C++ and vice versa.

The rule for growing collections: a view is valid while the collection's size is unchanged.
Growth (create, addTo..., reserve, clear) may reallocate the vectors, so the Python methods that
grow a collection refuse to run while views of it are alive (ViewInvalidatedError). Take views
after filling, or drop them (`del`) first.
"""

from __future__ import annotations

import ctypes
import weakref
from typing import Any

import numpy as np

_WORD = ctypes.sizeof(ctypes.c_void_p)


class ViewInvalidatedError(RuntimeError):
    """A collection was about to grow while numpy views of its memory were alive."""


class _Buffer(ctypes.Structure):
    """Placeholder so the ctypes buffer can carry a reference to its owner."""


def vector_span(vec_address: int) -> tuple[int, int]:
    """(data pointer, size in bytes) of a std::vector at `vec_address`.

    libstdc++ and libc++ both store [begin, end, capacity-end] pointers, in that order.
    """
    begin = ctypes.c_size_t.from_address(vec_address).value
    end = ctypes.c_size_t.from_address(vec_address + _WORD).value
    return begin, end - begin


class LiveViews:
    """Counts the live buffers handed out per collection (keyed by C++ address).

    Each buffer's weak reference removes itself when the buffer dies, so a collection that is
    never asked again (the usual case: one per event) leaves nothing behind; a long run's memory
    does not grow with the number of collections that ever had a view.
    """

    def __init__(self) -> None:
        self._live: dict[int, dict[int, weakref.ref]] = {}  # address -> {id(ref): ref}

    def register(self, coll_address: int, buf: Any) -> None:
        refs = self._live.setdefault(coll_address, {})

        def drop(ref: weakref.ref, refs: dict = refs, address: int = coll_address) -> None:
            refs.pop(id(ref), None)
            if not refs and self._live.get(address) is refs:
                del self._live[address]

        ref = weakref.ref(buf, drop)
        refs[id(ref)] = ref

    def live(self, coll_address: int) -> int:
        return sum(1 for r in self._live.get(coll_address, {}).values() if r() is not None)

    def forget(self, coll_address: int) -> None:
        self._live.pop(coll_address, None)

    def __len__(self) -> int:
        """Number of collections with live views."""
        return len(self._live)


LIVE_VIEWS = LiveViews()


def raw_view(owner: Any, coll_address: int, vec_address: int, dtype: np.dtype) -> np.ndarray:
    """A numpy array over the std::vector at `vec_address`, kept alive with `owner`."""
    dtype = np.dtype(dtype)
    ptr, nbytes = vector_span(vec_address)
    if nbytes == 0 or ptr == 0:
        return np.zeros(0, dtype=dtype)
    if nbytes % dtype.itemsize:
        raise RuntimeError(
            f"buffer of {nbytes} bytes is not a whole number of {dtype} elements ({dtype.itemsize} bytes)"
        )
    buf = (ctypes.c_char * nbytes).from_address(ptr)
    buf._k4ml_owner = owner  # the collection must outlive the view
    LIVE_VIEWS.register(coll_address, buf)
    return np.frombuffer(buf, dtype=dtype)


def check_can_grow(owner: Any, coll_address: int, what: str) -> None:
    n = LIVE_VIEWS.live(coll_address)
    if n:
        raise ViewInvalidatedError(
            f"{type(owner).__name__}.{what}: {n} numpy/torch view(s) of this collection are alive and "
            "would dangle if its memory moved. Delete them first, or take views after filling the collection."
        )


def field_path(dtype: np.dtype, path: str, type_name: str) -> list[str]:
    """Split 'momentum.x' and check every part exists, listing the valid names if not."""
    parts = path.split(".")
    dt = dtype
    for i, p in enumerate(parts):
        names = dt.names or ()
        if p not in names:
            where = ".".join(parts[:i]) or type_name
            shown = [n for n in names if not n.endswith(("_begin", "_end"))]
            raise KeyError(f"{where} has no member {p!r}; valid members: {', '.join(shown)}")
        dt = dt.fields[p][0]
        if dt.subdtype is not None and i + 1 < len(parts):
            raise KeyError(f"{'.'.join(parts[: i + 1])} is an array; it has no member {parts[i + 1]!r}")
    return parts


def to_torch(array: np.ndarray):
    """torch tensor sharing the numpy array's memory (strided views included)."""
    import torch

    return torch.from_numpy(array)
