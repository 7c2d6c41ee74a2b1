"""Following relations across collections: through the C++ resolver a Frame installs."""

from __future__ import annotations

from typing import Any


def find_collection(coll: Any, collection_id: int) -> Any | None:
    """The collection with `collection_id` in the same frame as `coll`, or None."""
    resolver = coll.resolver()
    if not resolver:
        return None
    found = resolver.find(collection_id)
    return found if found else None
