"""Load the C++ side of the ROOT I/O (cpp/include/k4ml/io/) into cppyy, once per process.

`podio_legacy.h` (podio < 1.0's GenericParameters, with a real ROOT dictionary: ROOT needs a
compiled collection proxy to read class branches reliably) and `root_io.h` (the reader/writer
helpers) are part of the builtin library and C++ module that `k4mlinference.edm` loads
(see k4mlinference/edm/loader.py), so including them here imports the precompiled module instead
of having cling parse them (that took about 2 s per process).
"""

from __future__ import annotations

import threading
from typing import Any

from k4mlinference.edm import loader

_LOCK = threading.Lock()
_LOADED: dict[str, Any] = {}


def cppyy_io() -> Any:
    """The cppyy namespace `k4ml.io`, with builtin datamodels loaded (compiles once, cached)."""
    with _LOCK:
        if "ns" in _LOADED:
            return _LOADED["ns"]
        from k4mlinference import edm

        edm.load()
        cppyy = loader._cppyy()
        for header in (*loader.IO_HEADERS, *loader.IO_JIT_HEADERS):
            cppyy.include(header)
        _LOADED["ns"] = cppyy.gbl.k4ml.io
        return _LOADED["ns"]
