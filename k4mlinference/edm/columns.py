"""Column-wise helpers every use case needs: build collections from arrays, read them back as arrays.

    from k4mlinference import edm
    hits = edm.build_collection("edm4hep::CalorimeterHitCollection", energy=e, position=xyz)   # xyz: [n, 3]
    clusters, hits = edm.build_one_to_many("edm4hep::ClusterCollection", "edm4hep::CalorimeterHitCollection",
                                           counts, {"energy": e_cl}, {"energy": e_hit}, relation="hits")
    xyz = edm.positions(hits)                                    # [n, 3] float64
    x, mask = edm.padded(clusters, "hits", hits, ["energy", "position.x"], max_len=50, sort_by="energy")
    with edm.reading(hits) as h:                                 # zero-copy views, released at the block's end
        total = h["energy"].sum()

No function here loops over objects in Python: columns go through numpy views of the collection's memory
(see edm.views), and builders size every vector once. The views these helpers take are dropped before they
return (or, for `reading`, when the block ends), so the collections can grow again afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from k4mlinference.edm.fill import new_collection, set_relation

Columns = Mapping[str, Any]


def _assign(coll: Any, data: np.ndarray, name: str, values: Any) -> None:
    """Write one column: a member ('energy', 'momentum.x'), a 3-vector member from [n, 3], a fixed-size array
    member from [n, k], or a vector member from [n, k] (k entries per element) or a (counts, values) pair."""
    info = coll.type_info
    if name in info.vector_index:
        counts, flat = _ragged(values, len(coll))
        vec = getattr(coll, f"m_vec_{name}")
        vec.resize(len(flat))
        if len(flat):
            coll.vector_view(name)[:] = flat
        end = np.cumsum(counts)
        data[name + "_begin"], data[name + "_end"] = end - counts, end
        return
    target = data
    for part in name.split("."):
        if part not in (target.dtype.names or ()):
            raise KeyError(f"{info.datatype.name} has no member {name!r}; valid names: {info.valid_names()}")
        target = target[part]
    values = np.asarray(values)
    if target.dtype.names and values.ndim == 2:  # Vector3f/Vector3d/Vector2i... from [n, k]
        names = target.dtype.names
        if values.shape[1] != len(names):
            raise ValueError(f"{info.datatype.name}.{name}: expected [n, {len(names)}] values, got {values.shape}")
        for k, comp in enumerate(names):
            target[comp] = values[:, k]
    else:
        target[...] = values


def _ragged(values: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(values, tuple) and len(values) == 2:
        counts, flat = (np.asarray(v) for v in values)
    else:
        arr = np.asarray(values)
        arr = arr.reshape(n, -1) if arr.ndim != 2 else arr
        counts, flat = np.full(n, arr.shape[1], dtype=np.int64), arr.reshape(-1)
    if len(counts) != n or counts.sum() != len(flat):
        raise ValueError(
            f"vector member: {len(counts)} counts summing to {counts.sum()} for {n} elements and {len(flat)} values"
        )
    return counts.astype(np.int64), flat


def build_collection(type_name: str, n: int | None = None, **columns: Any) -> Any:
    """A new collection of `n` elements (default: the length of the first column) with the given columns.

    Keys are member names (`energy`, `momentum`, `momentum.x`) or vector member names; 3-vectors take [n, 3]
    arrays, vector members [n, k] arrays or (counts, values). Relations are set with `set_relations`.
    """
    if n is None:
        if not columns:
            raise ValueError(f"build_collection({type_name!r}): give n or at least one column")
        first = next(iter(columns.values()))
        n = len(first[0]) if isinstance(first, tuple) else len(np.asarray(first))
    coll, data = new_collection(type_name, int(n))
    try:
        if n:
            for name, values in columns.items():
                _assign(coll, data, name, values)
    finally:
        del data
    return coll


def set_one_to_many(coll: Any, relation: str, counts: np.ndarray, indices: np.ndarray, target: Any) -> None:
    """Set OneToMany relation `relation`: element i refers to the next counts[i] of `indices` in `target`."""
    counts = np.asarray(counts, dtype=np.int64)
    indices = np.asarray(indices, dtype=np.int64)
    if len(counts) != len(coll) or counts.sum() != len(indices):
        raise ValueError(
            f"{type(coll).__cpp_name__}.{relation}: {len(counts)} counts (sum {counts.sum()}) for {len(coll)} "
            f"elements and {len(indices)} indices"
        )
    if len(coll):
        data = coll.data_view()
        end = np.cumsum(counts)
        data[relation + "_begin"], data[relation + "_end"] = end - counts, end
        del data
    set_relation(coll, relation, indices, int(target.getID()))


def set_one_to_one(coll: Any, relation: str, indices: np.ndarray, target: Any) -> None:
    """Set OneToOne relation `relation` (or a link's `from`/`to`): element i refers to target[indices[i]]
    (-1: unset)."""
    indices = np.asarray(indices, dtype=np.int64)
    if len(indices) != len(coll):
        raise ValueError(f"{type(coll).__cpp_name__}.{relation}: {len(indices)} indices for {len(coll)} elements")
    set_relation(coll, relation, np.where(indices >= 0, indices, -2), int(target.getID()))
    if len(indices) and (indices < 0).any():
        view = coll.relation_view(relation)
        view["collectionID"][indices < 0] = 0xFFFFFFFF  # podio's unset reference
        del view


def build_one_to_many(
    parent_type: str,
    child_type: str,
    counts: np.ndarray,
    parent_columns: Columns,
    child_columns: Columns,
    relation: str,
) -> tuple[Any, Any]:
    """n parents, parent i owning the next counts[i] children: both collections in one call, with the parents'
    OneToMany `relation` pointing at their children (children in parent order)."""
    counts = np.asarray(counts, dtype=np.int64)
    parents = build_collection(parent_type, len(counts), **parent_columns)
    children = build_collection(child_type, int(counts.sum()), **child_columns)
    set_one_to_many(parents, relation, counts, np.arange(len(children)), children)
    return parents, children


def positions(coll: Any, member: str = "position") -> np.ndarray:
    """A 3-vector member (`position`, `momentum`, `referencePoint`) of every element as float64 [n, 3]."""
    if len(coll) == 0:
        return np.zeros((0, 3))
    column = coll.view(member)
    names = column.dtype.names or ()
    if len(names) != 3:
        raise KeyError(f"{coll.type_info.datatype.name}.{member} is not a 3-vector member (components: {names})")
    out = np.stack([column[a] for a in names], axis=1).astype(np.float64)
    del column
    return out


def directions(coll: Any, member: str = "momentum") -> np.ndarray:
    """Unit vectors [n, 3] along a 3-vector member (zero vectors stay zero)."""
    v = positions(coll, member)
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    return np.divide(v, norm, out=np.zeros_like(v), where=norm > 0)


def members(coll: Any, relation: str, target: Any | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A OneToMany relation as flat arrays: (owner element of each reference, index into the target).

    With `target` given, references into other collections are an error naming the relation.
    """
    n = len(coll)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    begin, end = (np.asarray(a, dtype=np.int64).copy() for a in coll.ranges(relation))
    refs = coll.relation_view(relation)
    counts = end - begin
    starts = np.cumsum(counts) - counts
    flat = np.arange(int(counts.sum())) - np.repeat(starts, counts) + np.repeat(begin, counts)
    index = refs["index"][flat].astype(np.int64)
    if target is not None and len(flat):
        ids = refs["collectionID"][flat]
        if (ids != int(target.getID())).any():
            raise ValueError(
                f"{coll.type_info.datatype.name}.{relation}: references point into collection(s) "
                f"{sorted({int(i) for i in np.unique(ids)})}, not the given target {int(target.getID()):#x}"
            )
    del refs
    return np.repeat(np.arange(n), counts), index


def padded(
    coll: Any,
    relation: str,
    target_coll: Any,
    features: list[str] | Mapping[str, Any],
    max_len: int,
    sort_by: str | np.ndarray | None = None,
    descending: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """A OneToMany relation as a padded float32 array [n, max_len, n_features] plus a bool mask [n, max_len].

    `features`: member names of the target (`energy`, `position.x`), or a dict feature name -> member name or
    array over the target's elements (anything computed per target element). Within each element the targets
    are ordered by `sort_by` (a feature name, member name or per-target array; descending by default) and cut
    at `max_len`; unsorted, they keep the relation's order. Padding is 0 with mask False.
    """
    spec = dict(features) if isinstance(features, Mapping) else {f: f for f in features}
    n_target = len(target_coll)

    def column(value: Any) -> np.ndarray:
        if isinstance(value, str):
            if n_target == 0:
                return np.zeros(0)
            view = target_coll.view(value)
            out = np.array(view, dtype=np.float64)
            del view
            return out
        arr = np.asarray(value, dtype=np.float64)
        if arr.shape != (n_target,):
            raise ValueError(f"padded: per-target array of shape {arr.shape}, target has {n_target} elements")
        return arr

    owner, index = members(coll, relation, target_coll)
    values = np.stack([column(v)[index] for v in spec.values()], axis=1) if spec else np.zeros((len(index), 0))
    if sort_by is not None:
        key = column(spec.get(sort_by, sort_by) if isinstance(sort_by, str) else sort_by)[index]
        order = np.lexsort((-key if descending else key, owner))
        owner, values = owner[order], values[order]
    counts = np.bincount(owner, minlength=len(coll))
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    keep = rank < max_len
    out = np.zeros((len(coll), max_len, len(spec)), dtype=np.float32)
    mask = np.zeros((len(coll), max_len), dtype=bool)
    out[owner[keep], rank[keep]] = values[keep]
    mask[owner[keep], rank[keep]] = True
    return out, mask


class ColumnReader:
    """Zero-copy views of one collection, handed out inside a `reading` block and released at its end."""

    def __init__(self, coll: Any) -> None:
        self.collection = coll
        self._views: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        """Member (`energy`, `position.x`, `position`) or vector member, as a view (empty if no elements)."""
        if name not in self._views:
            self._views[name] = self.collection.view(name) if len(self.collection) else np.zeros(0)
        return self._views[name]

    def positions(self, member: str = "position") -> np.ndarray:
        return positions(self.collection, member)

    def members(self, relation: str, target: Any | None = None) -> tuple[np.ndarray, np.ndarray]:
        return members(self.collection, relation, target)

    def vector(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """A vector member as (owner element of each value, values)."""
        if len(self.collection) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        begin, end = (np.asarray(a, dtype=np.int64).copy() for a in self.collection.ranges(name))
        values = self[name]
        counts = end - begin
        starts = np.cumsum(counts) - counts
        flat = np.arange(int(counts.sum())) - np.repeat(starts, counts) + np.repeat(begin, counts)
        return np.repeat(np.arange(len(begin)), counts), values[flat]

    def release(self) -> None:
        self._views.clear()


@contextmanager
def reading(coll: Any) -> Iterator[ColumnReader]:
    """`with reading(coll) as c: c["energy"]`: views of `coll` that end with the block (copy what you keep)."""
    reader = ColumnReader(coll)
    try:
        yield reader
    finally:
        reader.release()


def best_links(links: Any, n_from: int) -> tuple[np.ndarray, np.ndarray]:
    """For a podio link collection: per `from` element (0..n_from-1) the `to` index of its highest-weight link
    and that weight (-1 and 0 where an element has no link)."""
    best = np.full(n_from, -1, dtype=np.int64)
    weight = np.zeros(n_from)
    if len(links) == 0:
        return best, weight
    w = np.array(links.view("weight"), dtype=np.float64)
    frm = np.array(links.relation_view("from")["index"], dtype=np.int64)
    to = np.array(links.relation_view("to")["index"], dtype=np.int64)
    order = np.lexsort((w, frm))  # per `from`, the highest weight last
    last = np.ones(len(order), dtype=bool)
    last[:-1] = frm[order][1:] != frm[order][:-1]
    sel = order[last]
    sel = sel[(frm[sel] >= 0) & (frm[sel] < n_from)]
    best[frm[sel]], weight[frm[sel]] = to[sel], w[sel]
    return best, weight
