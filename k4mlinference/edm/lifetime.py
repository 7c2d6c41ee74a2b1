"""Who deletes a collection, and what keeps it alive.

Two rules, both measured (benchmarks/soak_memory.py):

- **C++ deletes collections, not cppyy.** When cppyy destroys an object it owns whose class has a
  virtual destructor (every collection, every frame store), about 32 bytes stay behind per object
  in this ROOT (6.40); one event makes several such objects, so a long run grows without end.
  `hand_to_cpp` takes ownership away from cppyy and deletes the object through its virtual
  destructor when its Python proxy dies: same lifetime, nothing left behind.
- **Handles keep their collection alive.** A handle (`coll[i]`) is a pointer into its collection;
  `keep_alive` stores a reference to the collection on the handle, so the handle can never read
  freed memory (numpy views already do the same through their buffer).
"""

from __future__ import annotations

import array
import functools
import weakref
from typing import Any

_DELETERS: dict[str, Any] = {}


def _deleter(kind: str) -> Any:
    d = _DELETERS.get(kind)
    if d is None:
        import cppyy

        if not hasattr(cppyy.gbl, "k4ml_lifetime"):
            cppyy.cppdef(
                """
                namespace k4ml_lifetime {
                inline void deleteCollection(std::uintptr_t p) { delete reinterpret_cast<k4ml::CollectionBase*>(p); }
                inline void deleteResolver(std::uintptr_t p) { delete reinterpret_cast<k4ml::CollectionResolver*>(p); }
                inline void deleteCollections(const std::uintptr_t* p, std::size_t n) {
                  for (std::size_t i = 0; i < n; ++i) delete reinterpret_cast<k4ml::CollectionBase*>(p[i]);
                }
                }
                """
            )
        ns = cppyy.gbl.k4ml_lifetime
        d = _DELETERS[kind] = {
            "collection": ns.deleteCollection,
            "resolver": ns.deleteResolver,
            "collections": ns.deleteCollections,
        }[kind]
    return d


def hand_to_cpp(obj: Any, kind: str = "collection") -> Any:
    """Let C++ delete `obj` (a collection, or with kind="resolver" a collection store) when its
    Python proxy dies, instead of cppyy; objects cppyy does not own are left alone. Returns obj."""
    if getattr(obj, "__python_owns__", False):
        import cppyy.ll

        address = cppyy.ll.addressof(obj)
        obj.__python_owns__ = False
        f = weakref.finalize(obj, _deleter(kind), address)
        f.atexit = False  # at exit the process' memory goes anyway; ROOT may be gone already
        obj._k4ml_delete = f
    return obj


def take_from_python(obj: Any) -> int:
    """Take ownership of a collection cppyy owns, for an owner that deletes it later with
    `delete_collections` (a frame: one C++ call for all its collections instead of one finalizer
    each). Returns its address; 0 if cppyy does not own it (nothing to take)."""
    if not obj.__python_owns__:
        return 0
    obj.__python_owns__ = False
    return address_of(obj)


def address_of(obj: Any) -> int:
    """The C++ address of a cppyy object (cppyy.ll.addressof, looked up once)."""
    return _addressof()(obj)


@functools.cache
def _addressof() -> Any:
    import cppyy.ll

    return cppyy.ll.addressof


def delete_collections(addresses: list[int]) -> None:
    """Delete collections taken with `take_from_python` (their proxies must be gone or never used again)."""
    if addresses:
        _deleter("collections")(array.array("L", addresses), len(addresses))


def never_delete(obj: Any) -> None:
    """Leave `obj` undeleted (a collection a crashed read left in an unknown state, whose
    destructor could crash in turn); a few bytes lost instead of the process."""
    f = obj.__dict__.get("_k4ml_delete") if hasattr(obj, "__dict__") else None
    if f is not None:
        f.detach()
    obj.__python_owns__ = False


def keep_alive(handle: Any, owner: Any) -> Any:
    """Attach `owner` (the collection a handle points into) to the handle; returns the handle."""
    handle._k4ml_owner = owner
    return handle
