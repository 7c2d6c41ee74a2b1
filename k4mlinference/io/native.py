"""Load the C++ side of the ROOT I/O (cpp/include/k4ml/io/) into cppyy, once per process.

`podio_legacy.h` (podio < 1.0's GenericParameters) gets a real ROOT dictionary, built and cached
like the datamodels' (ROOT needs a compiled collection proxy to read class branches reliably);
`root_io.h` holds the reader/writer helpers and is JIT-compiled by cling when first included. Both
are copied next to the cached core headers so that one copy of `k4ml/podio_types.h` is seen.
"""

from __future__ import annotations

import threading
from typing import Any

from k4mlinference.edm import loader

_LOCK = threading.Lock()
_LOADED: dict[str, Any] = {}

_SELECTION = """<lcgdict>
  <selection>
    <class name="podio::GenericParameters" ClassVersion="1"/>
    <class name="std::map<std::string,std::vector<int>>"/>
    <class name="std::map<std::string,std::vector<float>>"/>
    <class name="std::map<std::string,std::vector<double>>"/>
    <class name="std::map<std::string,std::vector<std::string>>"/>
    <class name="std::vector<std::vector<int>>"/>
    <class name="std::vector<std::vector<float>>"/>
    <class name="std::vector<std::vector<double>>"/>
    <class name="std::vector<std::vector<std::string>>"/>
  </selection>
</lcgdict>
"""

IO_INCLUDE = loader.REPO_CPP
LEGACY_HEADER = IO_INCLUDE / "k4ml" / "io" / "podio_legacy.h"
IO_HEADER = IO_INCLUDE / "k4ml" / "io" / "root_io.h"


def cppyy_io() -> Any:
    """The cppyy namespace `k4ml.io`, with builtin datamodels loaded (compiles once, cached)."""
    with _LOCK:
        if "ns" in _LOADED:
            return _LOADED["ns"]
        from k4mlinference import edm

        edm.load()
        cppyy = loader.cppyy_module()
        text = LEGACY_HEADER.read_text()
        key = loader.build_key(text, _SELECTION, loader.root_version(), "io-legacy-v1")
        build = loader.cache_root() / f"io-{key}"
        inc = build / "include"
        with loader.locked(loader.cache_root() / f"io-{key}.lock"):
            hdr = inc / "k4ml" / "io" / "podio_legacy.h"
            hdr.parent.mkdir(parents=True, exist_ok=True)
            for src, dst in ((LEGACY_HEADER, hdr), (IO_HEADER, hdr.parent / "root_io.h")):
                content = src.read_text()
                if not dst.exists() or dst.read_text() != content:
                    dst.write_text(content)
            lib = loader.compile_dictionary(build, "k4mlIOLegacyDict", ["k4ml/io/podio_legacy.h"], _SELECTION, [inc])
        cppyy.load_library(str(lib))
        cppyy.add_include_path(str(inc))
        cppyy.include("k4ml/io/root_io.h")
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
