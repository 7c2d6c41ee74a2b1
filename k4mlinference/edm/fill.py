"""Filling collections from numpy arrays: one resize, then writes through zero-copy views.

The vectorised way to build a collection (no per-object Python calls): size the vectors once,
then assign whole columns through `data_view()` and `relation_view()`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_CLASSES: dict[str, Any] = {}


def new_collection(type_name: str, n: int) -> tuple[Any, np.ndarray]:
    """A collection of `type_name` with `n` default elements and a structured view of its data.

    Delete the returned view before growing the collection further (see edm.views).
    """
    cls = _CLASSES.get(type_name)
    if cls is None:
        from k4mlinference import edm

        cls = _CLASSES[type_name] = edm.collection_class(type_name)
    coll = cls()
    if n:
        coll.m_data.resize(n)
        for name in coll.relationNames():  # OneToOne relations hold one (unset) ID per element
            if str(name) in {r.name for r in coll.type_info.datatype.one_to_one}:
                getattr(coll, f"m_rel_{name}").resize(n)
                coll.relation_view(str(name))["index"] = -2
    return coll, coll.data_view()


def set_relation(coll: Any, relation: str, indices: np.ndarray, collection_id: int) -> None:
    """Fill relation `relation` with (index, collectionID) records (OneToOne: one per element;
    OneToMany: the concatenated targets, with the elements' begin/end set by the caller)."""
    vec = getattr(coll, f"m_rel_{relation}")
    vec.resize(len(indices))
    if len(indices):
        view = coll.relation_view(relation)
        view["index"] = indices
        view["collectionID"] = collection_id
