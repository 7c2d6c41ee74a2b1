"""Frame: one event's (or run's) collections and parameters, in podio's style.

A Frame owns its collections. Putting a collection under a name gives it podio's collection ID
(MurmurHash3 of the name), rewrites references made to it under its temporary ID, and
registers it with a C++ resolver so relations can be followed from Python and C++ alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from k4mlinference.edm.murmur import collection_id

_HOLDS_REFERENCES: dict[type, bool] = {}


def _holds_references(coll: Any) -> bool:
    """Whether a collection stores ObjectIDs (relations, or a subset collection's elements).

    A property of the C++ class (subset collections are their own class), so asked once per class."""
    cls = type(coll)
    known = _HOLDS_REFERENCES.get(cls)
    if known is None:
        known = _HOLDS_REFERENCES[cls] = bool(coll.relationNames().size()) or bool(coll.isSubsetCollection())
    return known


class Frame:
    """Named collections plus GenericParameters (int, float, double, string; scalars or lists)."""

    def __init__(self) -> None:
        import cppyy

        self._store = cppyy.gbl.k4ml.CollectionStore()
        self._colls: dict[str, Any] = {}
        self._ids: dict[int, str] = {}
        self.parameters: dict[str, Any] = {}
        # temporary ID -> final ID, for references made before a collection got its name
        self._aliases: dict[int, int] = {}

    # ---------------------------------------------------------------- collections
    def put(self, collection: Any, name: str) -> Any:
        """Store `collection` under `name` and return it (the frame now owns it)."""
        if name in self._colls:
            raise KeyError(f"Frame already holds a collection named {name!r}")
        try:
            old = int(collection.getID())
        except AttributeError:
            raise TypeError(f"cannot put {type(collection).__name__!r} as {name!r}: not a collection") from None
        new = collection_id(name)
        if new in self._ids and self._ids[new] != name:
            raise KeyError(f"collection ID {new:#x} of {name!r} collides with {self._ids[new]!r}")
        aliases = self.__dict__.setdefault("_aliases", {})  # subclasses may skip __init__
        if old != new:
            collection.setID(new)
            aliases[old] = new
            for other in self._colls.values():
                if _holds_references(other):
                    other.remapCollectionID(old, new)
            if _holds_references(collection):
                collection.remapCollectionID(old, new)
        # references this collection made to collections put earlier, under their temporary IDs
        if aliases and _holds_references(collection):
            for tmp, final in aliases.items():
                collection.remapCollectionID(tmp, final)
        self._colls[name] = collection
        self._ids[new] = name
        self._store.add(collection)
        return collection

    def put_with_id(self, collection: Any, name: str, coll_id: int) -> Any:
        """Store a collection read from a file, keeping the ID the file gave it."""
        collection.setID(coll_id)
        self._colls[name] = collection
        self._ids[coll_id] = name
        self._store.add(collection)
        return collection

    def get(self, name: str) -> Any:
        try:
            return self._colls[name]
        except KeyError:
            avail = ", ".join(sorted(self._colls)) or "(none)"
            raise KeyError(f"no collection {name!r} in this frame; available: {avail}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._colls

    def getAvailableCollections(self) -> list[str]:
        return list(self._colls)

    def getName(self, coll_or_id: Any) -> str:
        cid = coll_or_id if isinstance(coll_or_id, int) else int(coll_or_id.getID())
        return self._ids[cid]

    def items(self) -> Iterable[tuple[str, Any]]:
        return self._colls.items()

    def remove(self, name: str) -> Any:
        coll = self._colls.pop(name)
        self._ids.pop(int(coll.getID()), None)
        self._store.remove(int(coll.getID()))
        return coll

    # ---------------------------------------------------------------- parameters
    def putParameter(self, key: str, value: Any) -> None:
        self.parameters[key] = value

    put_parameter = putParameter

    def getParameter(self, key: str, default: Any = None) -> Any:
        if key not in self.parameters and default is None:
            raise KeyError(f"no parameter {key!r}; available: {', '.join(sorted(self.parameters)) or '(none)'}")
        return self.parameters.get(key, default)

    get_parameter = getParameter

    def getParameterKeys(self) -> list[str]:
        return list(self.parameters)

    def __repr__(self) -> str:
        return f"<Frame {len(self._colls)} collections, {len(self.parameters)} parameters>"
