"""Load the C++ side of the ROOT I/O (cpp/include/k4ml/io/) into cppyy, once per process.

`podio_legacy.h` (podio < 1.0's GenericParameters, with a real ROOT dictionary: ROOT needs a
compiled collection proxy to read class branches reliably) is part of the builtin library and C++
module that `k4mlinference.edm` loads (k4mlinference/edm/loader.py), so including it imports the
precompiled module; `root_io.h` (the reader/writer helpers) is a precompiled C++ module of its own
(`loader.load_io`: ROOT's RNTuple headers cannot be re-exported from the builtin module).
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
        cppyy = loader.cppyy_module()
        for header in loader.IO_HEADERS:
            cppyy.include(header)
        loader.load_io()
        ns = _LOADED["ns"] = cppyy.gbl.k4ml.io
        protect_reads(ns)
        return ns


def protect_reads(ns: Any) -> None:
    """Reading a damaged file can make ROOT's streamers follow garbage sizes and crash the process.
    The calls that read file contents are marked for cppyy to turn a segmentation violation (or
    other fatal signal) inside them into a Python exception, which the reader reports naming the
    file, collection and entry. Costs one setjmp per call."""
    import ROOT

    for cls_name in ("TreeCategoryReader", "NTupleCategoryReader"):
        cls = getattr(ns, cls_name, None)
        for method in ("read", "readParameters", "addCollection", "entries"):
            if cls is not None and hasattr(cls, method):
                getattr(cls, method).__sig2exc__ = True
    for fn in ("readNTupleMetadata",):
        if hasattr(ns, fn):
            getattr(ns, fn).__sig2exc__ = True
    ROOT.TTree.GetEntry.__sig2exc__ = True  # the metadata tree is read through it
