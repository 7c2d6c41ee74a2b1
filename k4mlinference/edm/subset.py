"""podio subset collections: references to objects that live in other collections.

    sub = edm.subset_collection("edm4hep::MCParticleCollection")
    sub.append(mcps[2])                 # stores mcps[2]'s ObjectID, not a copy
    frame.put(mcps, "MCParticles")
    frame.put(sub, "Selected")
    sub[0] == mcps[2]                   # resolved through the frame: the same handle type
    sub.object_ids()                    # numpy records (index, collectionID), no copy

One C++ class, `k4ml::SubsetCollection`, serves every datatype: it keeps the type names it was
made for and a `std::vector<podio::ObjectID>`, which is exactly what podio stores on disk
(`C_objIdx`). Elements are resolved on access, like relations: through the resolver of the frame
the subset is in (which reads referenced collections from a file on demand), or, before the
subset is in a frame, through the collections its objects were appended from.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from k4mlinference.edm import views

_PYTHONIZED: list[bool] = []


def _address(obj: Any) -> int:
    import cppyy.ll

    return cppyy.ll.addressof(obj)


def _object_id_dtype() -> np.dtype:
    from k4mlinference.edm.pythonize import OBJECT_ID_DTYPE

    return OBJECT_ID_DTYPE


def _known_targets(self: Any) -> list[Any]:
    """Collections objects were appended from (Python-side, for subsets not yet in a frame)."""
    targets = self.__dict__.get("_k4ml_targets")
    if targets is None:
        targets = []
        self.__dict__["_k4ml_targets"] = targets
    return targets


def _target(self: Any, collection_id: int) -> Any | None:
    from k4mlinference.edm.resolver import find_collection

    found = find_collection(self, collection_id)
    if found is not None:
        return found
    for coll in _known_targets(self):  # IDs change when collections are put into a frame: match now
        if int(coll.getID()) == collection_id:
            return coll
    return None


def _element(self: Any, i: int) -> Any:
    oid = self.m_refs[i]
    if oid.index < 0:
        return None
    target = _target(self, int(oid.collectionID))
    return None if target is None else target[oid.index]


def _getitem(self: Any, i: int | slice) -> Any:
    """The referenced object (a handle into its own collection); None if that cannot be found."""
    n = len(self)
    if isinstance(i, slice):
        return [_element(self, j) for j in range(*i.indices(n))]
    if i < 0:
        i += n
    if not 0 <= i < n:
        raise IndexError(f"subset collection of {self.getTypeName()} index {i} out of range (size {n})")
    return _element(self, i)


def _iter(self: Any) -> Iterator[Any]:
    for i in range(len(self)):
        yield _element(self, i)


def _append(self: Any, obj: Any) -> None:
    """Add a reference to `obj`, which must be an object of this subset's type in a collection."""
    views.check_can_grow(self, _address(self), "append()")
    want = str(self.getValueTypeName())
    have = getattr(type(obj), "__cpp_name__", type(obj).__name__)
    if have not in (want, _mutable_name(want)):
        raise TypeError(f"cannot append {have} to a subset collection of {self.getTypeName()}")
    oid = obj.getObjectID()
    if oid.index < 0:
        raise ValueError(f"cannot append {have}: it is not in a collection (podio refuses untracked objects)")
    self.push_back(oid)
    coll = obj.getCollection()
    targets = _known_targets(self)
    if not any(c is coll or _address(c) == _address(coll) for c in targets):
        targets.append(coll)


def _mutable_name(value_type: str) -> str:
    ns, _, bare = value_type.rpartition("::")
    return f"{ns}::Mutable{bare}" if ns else f"Mutable{bare}"


def _object_ids(self: Any) -> np.ndarray:
    """The stored references as (index, collectionID) records over the collection's memory."""
    return views.raw_view(self, _address(self), _address(self.m_refs), _object_id_dtype())


def _guarded_clear(self: Any) -> None:
    views.check_can_grow(self, _address(self), "clear()")
    self._cpp_clear()


def _repr(self: Any) -> str:
    return f"<subset collection of {self.getTypeName()} id={int(self.getID()):#010x} size={len(self)}>"


def pythonize() -> None:
    """Attach the Python API to `k4ml::SubsetCollection` (once per process)."""
    if _PYTHONIZED:
        return
    import cppyy

    cls = cppyy.gbl.k4ml.SubsetCollection
    cls.__len__ = lambda self: int(self.size())
    cls.__getitem__ = _getitem
    cls.__iter__ = _iter
    cls.append = _append
    cls.object_ids = _object_ids
    cls._cpp_clear = cls.clear
    cls.clear = _guarded_clear
    cls.__repr__ = _repr
    cls.__str__ = _repr
    _PYTHONIZED.append(True)


def make(type_name: str, value_type: str, data_type: str, schema_version: int) -> Any:
    """A new, empty subset collection with the given podio type names."""
    import cppyy

    pythonize()
    return cppyy.gbl.k4ml.SubsetCollection(type_name, value_type, data_type, int(schema_version))


def subset_collection(type_name: str) -> Any:
    """An empty subset collection of the podio collection type `type_name`
    (e.g. `edm4hep::MCParticleCollection`), names taken from the type's own class."""
    from k4mlinference.edm import collection_class

    proto = collection_class(type_name)()
    return make(
        str(proto.getTypeName()),
        str(proto.getValueTypeName()),
        str(proto.getDataTypeName()),
        int(proto.getSchemaVersion()),
    )
