"""Give the cppyy classes of every datatype podio's Python API and the zero-copy views.

Applied once per loaded datamodel: every `XCollection` gets `create(**members)`, bounds-checked
indexing, `view(name)`, `data_view()`, `vector_view(name)`, `relation_view(name)` and
`torch_view(name)`; handles get relation navigation that also resolves interface targets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from k4mlinference.datamodel.model import Datamodel, Datatype
from k4mlinference.edm import views
from k4mlinference.edm.lifetime import hand_to_cpp, keep_alive

OBJECT_ID_DTYPE = np.dtype([("index", "i4"), ("collectionID", "u4")], align=True)

# numpy dtypes of vector member element types, keyed by the normalized C++ type
_SCALARS = {
    "float": "f4",
    "double": "f8",
    "int": "i4",
    "int16_t": "i2",
    "int32_t": "i4",
    "int64_t": "i8",
    "uint16_t": "u2",
    "uint32_t": "u4",
    "uint64_t": "u8",
    "int8_t": "i1",
    "uint8_t": "u1",
    "bool": "?",
    "short": "i2",
    "long": "i8",
    "unsigned int": "u4",
}


class TypeInfo:
    """Python-side facts of one datatype, derived from the datamodel (never written by hand)."""

    def __init__(self, dt: Datatype, dm: Datamodel, components: dict) -> None:
        self.datatype = dt
        self.data_dtype = dm.numpy_dtype(dt.data_type, components)
        self.vector_dtypes = {}
        for m in dt.vector_members:
            if m.type in _SCALARS:
                self.vector_dtypes[m.name] = np.dtype(_SCALARS[m.type])
            else:
                self.vector_dtypes[m.name] = dm.numpy_dtype(m.type, components)
        self.member_names = [m.name for m in dt.members]
        self.relation_names = [r.name for r in dt.relations]
        self.relation_index = {r.name: i for i, r in enumerate(dt.relations)}
        self.vector_index = {m.name: i for i, m in enumerate(dt.vector_members)}

    def valid_names(self) -> str:
        names = self.member_names + [m.name for m in self.datatype.vector_members] + self.relation_names
        return ", ".join(names)


TYPES: dict[str, TypeInfo] = {}  # keyed by C++ collection class name, e.g. edm4hep::MCParticleCollection


def _address(obj: Any) -> int:
    import cppyy.ll

    return cppyy.ll.addressof(obj)


def _info(coll: Any) -> TypeInfo:
    return TYPES[type(coll).__cpp_name__]


# ------------------------------------------------------------------ collection methods
def _data_view(self) -> np.ndarray:
    """Structured numpy array over the collection's `std::vector<XData>` (no copy)."""
    info = _info(self)
    return views.raw_view(self, _address(self), _address(self.m_data), info.data_dtype)


def _view(self, name: str) -> np.ndarray:
    """Column `name` ('energy', 'momentum.x', 'covMatrix.values') or vector member, no copy."""
    info = _info(self)
    if name in info.vector_index:
        return self.vector_view(name)
    parts = views.field_path(info.data_dtype, name, info.datatype.name)
    arr = self.data_view()
    for p in parts:
        arr = arr[p]
    return arr


def _torch_view(self, name: str):
    """torch tensor sharing the memory of `view(name)`."""
    return views.to_torch(self.view(name))


def _vector_view(self, name: str) -> np.ndarray:
    """All elements of vector member `name`, concatenated over the collection (no copy).

    Element i owns `[data_view()[name+'_begin'][i], ...[name+'_end'][i])` of it.
    """
    info = _info(self)
    if name not in info.vector_index:
        raise KeyError(
            f"{info.datatype.name} has no vector member {name!r}; vector members: "
            f"{', '.join(info.vector_index) or '(none)'}"
        )
    vec = getattr(self, f"m_vec_{name}")
    return views.raw_view(self, _address(self), _address(vec), info.vector_dtypes[name])


def _relation_view(self, name: str) -> np.ndarray:
    """Stored references of relation `name` as (index, collectionID) records (no copy)."""
    info = _info(self)
    if name not in info.relation_index:
        raise KeyError(
            f"{info.datatype.name} has no relation {name!r}; relations: {', '.join(info.relation_names) or '(none)'}"
        )
    vec = getattr(self, f"m_rel_{name}")
    return views.raw_view(self, _address(self), _address(vec), OBJECT_ID_DTYPE)


def _ranges(self, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(begin, end) index arrays of a vector member or OneToMany relation per element."""
    d = self.data_view()
    if name + "_begin" not in (d.dtype.names or ()):
        raise KeyError(f"{_info(self).datatype.name} has no vector member or OneToMany relation {name!r}")
    return d[name + "_begin"], d[name + "_end"]


def _set_fields(self, index: int, values: dict[str, Any]) -> None:
    info = _info(self)
    for key in values:
        if key not in info.member_names and key not in info.vector_index and key not in info.relation_index:
            raise KeyError(f"{info.datatype.name} has no member {key!r}; valid names: {info.valid_names()}")
    plain = {k: v for k, v in values.items() if k in info.member_names}
    if plain:
        row = self.data_view()[index : index + 1]
        for key, value in plain.items():
            row[key] = value
        del row  # release the view before anything below may grow the buffers
    one_to_one = {r.name for r in info.datatype.one_to_one}
    handle = self.mutableAt(index)
    for key, value in values.items():
        if key in one_to_one:
            if value is not None:
                getattr(handle, "set" + key[0].upper() + key[1:])(value.getObjectID())
        elif key not in plain:
            adder = getattr(handle, "addTo" + key[0].upper() + key[1:])
            for v in value:
                adder(v)


def _create(self, **members: Any):
    """Append a new element, optionally setting members by keyword (podio's create)."""
    views.check_can_grow(self, _address(self), "create()")
    handle = keep_alive(self._cpp_create(), self)
    if members:
        _set_fields(self, len(self) - 1, members)
    return handle


def _getitem(self, i: int):
    n = len(self)
    if isinstance(i, slice):
        return [keep_alive(self._cpp_at(j), self) for j in range(*i.indices(n))]
    if i < 0:
        i += n
    if not 0 <= i < n:
        raise IndexError(f"{type(self).__cpp_name__} index {i} out of range (size {n})")
    return keep_alive(self._cpp_at(i), self)


def _mutable_at(self, i: int):
    """The Mutable handle of element i (bounds-checked); it keeps the collection alive."""
    n = len(self)
    if not -n <= i < n:
        raise IndexError(f"{type(self).__cpp_name__} index {i} out of range (size {n})")
    return keep_alive(self._cpp_mutableAt(i % n), self)


def _iter(self):
    at = self._cpp_at
    for i in range(len(self)):
        yield keep_alive(at(i), self)


def _init_owned_by_cpp(cpp_init: Any):
    def __init__(self, *args: Any) -> None:
        cpp_init(self, *args)
        hand_to_cpp(self)

    return __init__


def _guarded(method_name: str):
    def wrapper(self, *args):
        views.check_can_grow(self, _address(self), f"{method_name}()")
        return getattr(self, "_cpp_" + method_name)(*args)

    wrapper.__name__ = method_name
    return wrapper


def _guarded_adder(name: str):
    def wrapper(self, value):
        coll = self.getCollection()
        views.check_can_grow(coll, _address(coll), f"{name}()")
        if hasattr(value, "getObjectID"):
            value = value.getObjectID()
        return getattr(self, "_cpp_" + name)(value)

    wrapper.__name__ = name
    return wrapper


def _coll_repr(self) -> str:
    return f"<{type(self).__cpp_name__} id={self.getID():#010x} size={len(self)}>"


# ------------------------------------------------------------------ handles
def _resolve(handle: Any, oid: Any):
    """Follow an ObjectID from `handle`'s collection, through its frame when needed."""
    from k4mlinference.edm.resolver import find_collection

    if oid.index < 0:
        return None
    coll = handle.__dict__.get("_k4ml_owner")  # the owning proxy (getCollection() may give another)
    if coll is None:
        coll = handle.getCollection()
    if oid.collectionID == coll.getID():
        return coll[oid.index]
    target = find_collection(coll, oid.collectionID)
    return None if target is None else target[oid.index]


def _make_relation_getter(rel_name: str, many: bool):
    def getter(self, *args):
        if many:
            ids = getattr(self, rel_name + "IDs")()
            objs = [_resolve(self, ids[k]) for k in range(ids.size())]
            return objs[args[0]] if args else objs
        return _resolve(self, getattr(self, rel_name + "ID")())

    return getter


def _handle_repr(self) -> str:
    if not self.isAvailable():
        return f"<{type(self).__cpp_name__} (unset)>"
    return f"<{type(self).__cpp_name__} #{self.getIndex()} of collection {self.getCollection().getID():#010x}>"


def _handle_eq(self, other: Any) -> bool:
    try:
        return self.getObjectID() == other.getObjectID() and self.getCollection() == other.getCollection()
    except AttributeError:
        return NotImplemented


# C++ class name -> what to attach to it; applied by cppyy when the class is first used (a class
# looked up from the precompiled module costs milliseconds, and most jobs use a few of the ~80)
_PENDING: dict[str, Any] = {}
_SCOPES: set[str] = set()


def _apply_pending(klass: Any, name: str) -> None:
    apply = _PENDING.pop(getattr(klass, "__cpp_name__", ""), None)
    if apply is not None:
        apply(klass)


def _pythonize_collection(cls: Any) -> None:
    if getattr(cls, "_k4ml_pythonized", False):
        return
    cls._cpp_create = cls.create
    cls._cpp_at = cls.at
    cls._cpp_mutableAt = cls.mutableAt
    cls.__init__ = _init_owned_by_cpp(cls.__init__)
    cls.create = _create
    cls.__getitem__ = _getitem
    cls.at = _getitem
    cls.mutableAt = _mutable_at
    cls.__iter__ = _iter
    cls.__len__ = lambda self: int(self.size())
    cls.__repr__ = _coll_repr
    cls.__str__ = _coll_repr
    cls.data_view = _data_view
    cls.view = _view
    cls.torch_view = _torch_view
    cls.vector_view = _vector_view
    cls.relation_view = _relation_view
    cls.ranges = _ranges
    for name in ("reserve", "clear"):
        setattr(cls, "_cpp_" + name, getattr(cls, name))
        setattr(cls, name, _guarded(name))
    cls.type_info = property(lambda self: _info(self))
    cls._k4ml_pythonized = True


def _pythonize_handle(hcls: Any, dt: Datatype, mutable: bool) -> None:
    hcls.__repr__ = _handle_repr
    hcls.__eq__ = _handle_eq
    hcls.__hash__ = lambda self: hash((self.getIndex(), self.getCollection().getID()))
    for r in dt.one_to_many:
        setattr(hcls, "get" + r.name[0].upper() + r.name[1:], _make_relation_getter(r.name, True))
    if mutable:  # growing a vector member or relation moves its buffer
        for n in [m.name for m in dt.vector_members] + [r.name for r in dt.one_to_many]:
            adder = "addTo" + n[0].upper() + n[1:]
            setattr(hcls, "_cpp_" + adder, getattr(hcls, adder))
            setattr(hcls, adder, _guarded_adder(adder))
    for r in dt.one_to_one:
        setattr(hcls, "get" + r.name[0].upper() + r.name[1:], _make_relation_getter(r.name, False))


def pythonize_datamodel(dm: Datamodel, components: dict) -> None:
    """Attach the Python API to every collection and handle class of a loaded datamodel.

    Classes already created in Python get it now; the others when cppyy first creates them."""
    import cppyy

    for dt in dm.datatypes.values():
        TYPES[dt.cpp_collection] = TypeInfo(dt, dm, components)
        targets = [
            (dt.cpp_collection, _pythonize_collection),
            (dt.name, lambda c, dt=dt: _pythonize_handle(c, dt, False)),
            (dt.namespace + "::Mutable" + dt.bare_name, lambda c, dt=dt: _pythonize_handle(c, dt, True)),
        ]
        for qualified, apply in targets:
            scope, _, bare = qualified.rpartition("::")
            if scope not in _SCOPES:
                cppyy.py.add_pythonization(_apply_pending, scope)
                _SCOPES.add(scope)
            existing = _cpp_class(cppyy, scope).__dict__.get(bare) if scope else None
            if existing is not None:
                apply(existing)
            else:
                _PENDING[qualified] = apply


def _cpp_class(cppyy: Any, qualified: str):
    obj = cppyy.gbl
    for part in qualified.split("::"):
        obj = getattr(obj, part)
    return obj
