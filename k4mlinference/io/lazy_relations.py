"""Reading a collection when a relation first points into it (from C++ as well as Python).

A file frame's C++ store (`k4ml::io::LazyCollectionStore`) carries an integer token; when a
relation points to a collection the frame has not read yet, the store calls one process-wide
loader with (token, collection ID). The tokens of the live frames are kept here, weakly.
"""

from __future__ import annotations

import itertools
import warnings
import weakref
from typing import Any

_FRAMES: dict[int, weakref.ref] = {}  # token -> frame
_TOKENS = itertools.count(1)
_INSTALLED: list[Any] = []


def register(frame: Any) -> int:
    """A token for `frame` (forgotten when the frame goes)."""
    token = next(_TOKENS)
    _FRAMES[token] = weakref.ref(frame, lambda _, t=token: _FRAMES.pop(t, None))
    return token


def load_for_relation(token: int, coll_id: int) -> int:
    """The address of the collection `coll_id` of the frame with `token`, read if needed; 0 if none.

    A failure cannot cross back into C++: it is reported as a warning naming the file and the
    collection, and the relation stays unresolved."""
    import cppyy.ll

    ref = _FRAMES.get(int(token))
    frame = ref() if ref is not None else None
    if frame is None:
        return 0
    try:
        coll = frame.collection_by_id(int(coll_id))
    except Exception as exc:  # noqa: BLE001
        warnings.warn(f"{frame.path}: a relation could not be followed: {exc}", RuntimeWarning, stacklevel=2)
        return 0
    return 0 if coll is None else cppyy.ll.addressof(coll)


def install(io: Any) -> None:
    """Give the C++ store its loader (once per process)."""
    if not _INSTALLED:
        io.LazyCollectionStore.setLoader(load_for_relation)
        _INSTALLED.append(load_for_relation)
