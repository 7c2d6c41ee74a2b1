"""Following relations across collections: through the frame a collection was put into.

From Python the frame is asked (it reads collections a file frame has not read yet, and its errors
propagate instead of leaving a relation silently unset); a collection that is in no frame falls back
to the C++ resolver it may have been given.
"""

from __future__ import annotations

from typing import Any


def find_collection(coll: Any, collection_id: int) -> Any | None:
    """The collection with `collection_id` in the same frame as `coll`, or None."""
    ref = coll.__dict__.get("_k4ml_frame") if hasattr(coll, "__dict__") else None
    frame = ref() if ref is not None else None
    if frame is not None:
        return frame.collection_by_id(collection_id)
    resolver = coll.resolver()
    if not resolver:
        return None
    found = resolver.find(collection_id)
    return found if found else None
