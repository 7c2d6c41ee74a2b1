"""Filling collections from numpy arrays (one resize, then writes through zero-copy views)."""

from __future__ import annotations

from typing import Any

import numpy as np

_CLASSES: dict[str, Any] = {}


def new_collection(type_name: str, n: int) -> tuple[Any, np.ndarray]:
    """A collection of `type_name` with `n` default elements and a structured view of its data."""
    cls = _CLASSES.get(type_name)
    if cls is None:
        from k4mlinference import edm

        cls = _CLASSES[type_name] = edm.collection_class(type_name)
    coll = cls()
    if n:
        coll.m_data.resize(n)
    return coll, coll.data_view()


def set_relation(coll: Any, relation: str, indices: np.ndarray, collection_id: int) -> None:
    """Fill relation `relation` with (index, collectionID) records (OneToOne: one per element)."""
    vec = getattr(coll, f"m_rel_{relation}")
    vec.resize(len(indices))
    if len(indices):
        view = coll.relation_view(relation)
        view["index"] = indices
        view["collectionID"] = collection_id


def event_rng(seed: int, event_number: int) -> np.random.Generator:
    """The random generator of one event: independent of how events are split into jobs."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, max(int(event_number), 0)])
