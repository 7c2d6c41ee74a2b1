"""Frame: one event's (or run's) collections and parameters, in podio's style.

A Frame owns its collections. Putting a collection under a name gives it podio's collection ID
(MurmurHash3 of the name), rewrites references made to it under its temporary ID, and
registers it with a C++ resolver so relations can be followed from Python and C++ alike.

Lifetime: a collection knows its frame (weakly), so relations resolve through the frame from
Python. When a frame goes while someone still holds one of its collections (or a handle or view
into one), the frame stays alive with them, so relations keep resolving and nothing reads freed
memory; otherwise it is freed at once (no reference cycle per event, see `_release`). Collections
that cppyy owned when put (C++ algorithms' results) are deleted by the frame, all in one C++ call;
Python-made ones by their own finalizer (edm/lifetime.py).
"""

from __future__ import annotations

import array
import functools
import sys
import weakref
from collections.abc import Iterable
from typing import Any

import numpy as np

from k4mlinference.edm.lifetime import address_of, delete_collections, hand_to_cpp, take_from_python
from k4mlinference.edm.murmur import collection_id

# sys.getrefcount of a collection referenced only by the frame's dict while `_release` looks at
# it: the dict, the loop variable and getrefcount's own argument (the frame's bookkeeping lists
# hold names and addresses, not collections)
_FRAME_ONLY_REFS = 3
_HOLDS_REFERENCES: dict[type, bool] = {}


def _holds_references(coll: Any) -> bool:
    """Whether a collection stores ObjectIDs (relations, or a subset collection's elements).

    A property of the C++ class (subset collections are their own class), so asked once per class."""
    cls = type(coll)
    known = _HOLDS_REFERENCES.get(cls)
    if known is None:
        known = _HOLDS_REFERENCES[cls] = bool(coll.relationNames().size()) or bool(coll.isSubsetCollection())
    return known


@functools.cache
def _frame_helpers() -> Any:
    """C++ side of Frame.put_block (defined on first use)."""
    import cppyy

    cppyy.cppdef(
        """
        namespace k4ml_frame {
        /// For each i: remember collection i's (temporary) ID, give it `id` and add it to store i.
        inline void adoptMany(const std::uintptr_t* stores, const std::uintptr_t* colls, std::uint32_t id,
                              std::uint32_t* oldIds, std::size_t n) {
          for (std::size_t i = 0; i < n; ++i) {
            auto* c = reinterpret_cast<k4ml::CollectionBase*>(colls[i]);
            oldIds[i] = c->getID();
            c->setID(id);
            reinterpret_cast<k4ml::CollectionStore*>(stores[i])->add(c);
          }
        }
        }
        """
    )
    return cppyy.gbl.k4ml_frame


class Frame:
    """Named collections plus GenericParameters (int, float, double, string; scalars or lists)."""

    def __init__(self) -> None:
        import cppyy

        self._store = hand_to_cpp(cppyy.gbl.k4ml.CollectionStore(), "resolver")
        self._store_address = address_of(self._store)  # for put_block's one C++ call per block
        self._colls: dict[str, Any] = {}
        self._ids: dict[int, str] = {}
        self.parameters: dict[str, Any] = {}
        # temporary ID -> final ID, for references made before a collection got its name
        self._aliases: dict[int, int] = {}

    # ---------------------------------------------------------------- collections
    def put(self, collection: Any, name: str) -> Any:
        """Store `collection` under `name` and return it (the frame now owns it)."""
        colls = self._colls
        if name in colls:
            raise KeyError(f"Frame already holds a collection named {name!r}")
        try:
            old = collection.getID()
        except AttributeError:
            raise TypeError(f"cannot put {type(collection).__name__!r} as {name!r}: not a collection") from None
        new = collection_id(name)
        if new in self._ids:  # `name` is not in the frame, so this ID belongs to another name
            raise KeyError(f"collection ID {new:#x} of {name!r} collides with {self._ids[new]!r}")
        state = self.__dict__
        refs = _HOLDS_REFERENCES.get(type(collection))
        if refs is None:
            refs = _holds_references(collection)
        aliases = state.get("_aliases")
        if old != new:
            collection.setID(new)
            if aliases is None:  # subclasses may skip __init__
                aliases = state["_aliases"] = {}
            aliases[old] = new
            # only collections that store ObjectIDs can refer to the old ID (their names: kept by _adopt)
            for other in state.get("_referencing", ()):
                colls[other].remapCollectionID(old, new)
        # references this collection made (to itself, to collections put earlier) under temporary IDs
        if refs and aliases:
            for tmp, final in aliases.items():
                collection.remapCollectionID(tmp, final)
        self._adopt(collection, name, new, refs)
        return collection

    @staticmethod
    def put_block(frames: list[Frame], collections: list[Any], name: str) -> None:
        """`frame.put(collection, name)` for each pair: the event loop's path for one output of a block.

        The name's podio ID and the collection type's traits are looked up once per block, and a
        collection that holds no references, going into a plain Frame that holds none, takes the
        short way (no remapping can be needed); anything else goes through `put`."""
        new = collection_id(name)
        taken: list[tuple[Any, dict]] = []  # (collection, its frame's state) for the one C++ call below
        stores: list[int] = []
        addresses: list[int] = []
        for frame, coll in zip(frames, collections):
            state = frame.__dict__
            colls = state.get("_colls")
            ids = state.get("_ids")
            if (
                type(frame) is not Frame
                or _HOLDS_REFERENCES.get(type(coll)) is not False
                or state.get("_referencing")
                or name in colls
                or new in ids
                or not hasattr(coll, "getID")
            ):
                frame.put(coll, name)  # the general path (and its errors)
                continue
            if coll.__python_owns__:  # deleted with the frame's other collections in one call (_release)
                owned = state.get("_owned")
                if owned is None:
                    owned = state["_owned"] = {}
                address = owned[name] = take_from_python(coll)
            else:
                address = address_of(coll)
                if "_k4ml_delete" not in coll.__dict__:
                    state.setdefault("_foreign", []).append(name)
            coll._k4ml_frame = weakref.ref(frame)
            colls[name] = coll
            ids[new] = name
            taken.append((coll, state))
            stores.append(state["_store_address"])
            addresses.append(address)
        if taken:  # the new ID and the C++ store's entry, for all of them in one call; the old IDs come back
            old = array.array("I", bytes(4 * len(taken)))
            _frame_helpers().adoptMany(array.array("L", stores), array.array("L", addresses), new, old, len(taken))
            for (_, state), tmp in zip(taken, old):
                if tmp != new:
                    aliases = state.get("_aliases")
                    if aliases is None:
                        aliases = state["_aliases"] = {}
                    aliases[tmp] = new

    def put_with_id(self, collection: Any, name: str, coll_id: int) -> Any:
        """Store a collection read from a file, keeping the ID the file gave it."""
        collection.setID(coll_id)
        self._adopt(collection, name, coll_id)
        return collection

    def _adopt(self, collection: Any, name: str, coll_id: int, refs: bool | None = None) -> None:
        state = self.__dict__
        if collection.__python_owns__:  # deleted with the frame's other collections in one call (_release)
            state.setdefault("_owned", {})[name] = take_from_python(collection)
        elif "_k4ml_delete" not in collection.__dict__:  # owned elsewhere in C++: may outlive the frame
            state.setdefault("_foreign", []).append(name)
        if _holds_references(collection) if refs is None else refs:  # names, not collections: see _release
            state.setdefault("_referencing", []).append(name)
        collection._k4ml_frame = weakref.ref(self)  # the same weakref object for every collection
        self._colls[name] = collection
        self._ids[coll_id] = name
        self._store.add(collection)

    def get(self, name: str) -> Any:
        try:
            return self._colls[name]
        except KeyError:
            avail = ", ".join(sorted(self._colls)) or "(none)"
            raise KeyError(f"no collection {name!r} in this frame; available: {avail}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._colls

    @staticmethod
    def get_block(frames: list[Frame], name: str) -> list[Any | None]:
        """Collection `name` of each frame, None where it is missing: the event loop's path for one input of
        a block (plain frames by dictionary lookup; others, e.g. file frames that read on demand, by `get`)."""
        out = []
        for frame in frames:
            if type(frame) is Frame:
                out.append(frame._colls.get(name))
                continue
            try:
                out.append(frame.get(name))
            except KeyError:
                out.append(None)
        return out

    def getAvailableCollections(self) -> list[str]:
        return list(self._colls)

    @property
    def collections(self) -> tuple[str, ...]:
        """The collection names, as podio's Python `Frame.collections` gives them (scripts port unchanged)."""
        return tuple(self.getAvailableCollections())

    def collection_by_id(self, coll_id: int) -> Any | None:
        """The collection with podio ID `coll_id` (what a relation stores), or None."""
        name = self._ids.get(int(coll_id))
        return None if name is None else self.get(name)

    def collection_type(self, name: str) -> str:
        """The podio type name of collection `name` (`edm4hep::MCParticleCollection`)."""
        return str(self.get(name).getTypeName())

    def getName(self, coll_or_id: Any) -> str:
        cid = coll_or_id if isinstance(coll_or_id, int) else int(coll_or_id.getID())
        return self._ids[cid]

    def items(self) -> Iterable[tuple[str, Any]]:
        return self._colls.items()

    def remove(self, name: str) -> Any:
        """Take collection `name` out of the frame; it no longer resolves relations through it."""
        coll = self._colls.pop(name)
        if self.__dict__.get("_owned", {}).pop(name, None):  # the caller holds it now: deleted as its proxy dies
            coll.__python_owns__ = True
            hand_to_cpp(coll)
        for kept in (self.__dict__.get("_referencing"), self.__dict__.get("_foreign")):
            if kept and name in kept:
                kept.remove(name)
        self._ids.pop(int(coll.getID()), None)
        self._store.remove(int(coll.getID()))
        coll.setResolver(0)
        coll.__dict__.pop("_k4ml_frame", None)
        return coll

    def _release(self) -> None:
        """Called as the frame goes: if any of its collections is still held elsewhere, stay alive
        with them (they reference the frame; the cycle is collected once they go too). Otherwise
        the collections go with the frame (their proxies die with its dict, deleting them), and only
        those owned elsewhere in C++, which outlive it, are detached from its C++ store."""
        state = self.__dict__
        colls = state.get("_colls") or {}
        owned = state.get("_owned") or {}
        for coll in colls.values():
            if sys.getrefcount(coll) > _FRAME_ONLY_REFS:
                coll = None
                for name in owned:  # this frame will not see them go: each is deleted as its proxy dies
                    colls[name].__python_owns__ = True
                    hand_to_cpp(colls[name])
                owned.clear()
                for c in colls.values():
                    c._k4ml_frame_keep = self
                return
        coll = None  # the loop variable holds no proxy past this point
        for name in state.get("_foreign", ()):
            colls[name].setResolver(0)
        if owned:
            addresses = list(owned.values())
            owned.clear()
            colls.clear()  # the proxies go first, then what they pointed to
            delete_collections(addresses)

    def __del__(self) -> None:
        try:
            self._release()
        except Exception:  # noqa: BLE001  (interpreter shutdown)
            pass

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


def parameter_values(key: str, value: Any) -> tuple[str, list]:
    """A frame parameter as podio stores it: its kind ("int", "float", "double" or "string") and its values
    as Python ints, floats or strs (Python int -> int, numpy.float32 -> float, float -> double); ("", [])
    for an empty list. The one rule the writer and the C++ algorithms' metadata store both follow."""
    vals = list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value]
    if not vals:
        return "", []
    first = vals[0]
    if isinstance(first, (str, bytes)):
        return "string", [v.decode() if isinstance(v, bytes) else str(v) for v in vals]
    if isinstance(first, (bool, int, np.integer)):
        return "int", [int(v) for v in vals]
    if isinstance(first, np.float32):
        return "float", [float(v) for v in vals]
    if isinstance(first, (float, np.floating)):
        return "double", [float(v) for v in vals]
    raise TypeError(f"parameter {key!r}: unsupported type {type(first).__name__} (int, float, str or lists)")
