"""Compile the datamodel and load it into ROOT's cppyy, with a content-keyed cache.

Route (see shared notes on the ROOT wheel): generated headers + a selection XML -> `rootcling`
-> `g++ -shared` -> `cppyy.load_library`. The dictionaries give ROOT the collection proxies it
needs to read and write `vector<XData>` branches, and class versions equal to the schema
version, as podio's. The library is cached under a hash of everything that shapes it (the
datamodel, the generator, the C++ core headers, the ROOT version), so a warm start only loads
it. Compilation happens under a file lock, so parallel processes share one build.

The builtin part (the C++ core, EDM4hep, EDM4eic and the ROOT I/O helpers of cpp/include/k4ml/io/)
is one library built as a C++ module (`rootcling --cxxmodule`): cling then reads the declarations
from the precompiled module instead of parsing about 6,000 lines of headers in every process, which
took 3-4 s of each `k4run` start-up. Datamodels found in files are compiled the same way as before
(dictionary + header), on top of it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from k4mlinference.datamodel import generator
from k4mlinference.datamodel.model import Datamodel, load_builtin_datamodels

REPO_CPP = Path(__file__).resolve().parents[2] / "cpp" / "include"
CORE_HEADER = REPO_CPP / "k4ml" / "podio_types.h"

_CORE_SELECTION = """<lcgdict>
  <selection>
    <class name="podio::ObjectID" ClassVersion="1"/>
    <class name="std::vector<podio::ObjectID>"/>
    <class name="podio::LinkData" ClassVersion="1"/>
    <class name="std::vector<podio::LinkData>"/>
    <class name="podio::version::Version" ClassVersion="1"/>
    <class name="podio::CollectionIDTable" ClassVersion="1"/>
    <class name="podio::root_utils::CollectionWriteInfo" ClassVersion="1"/>
    <class name="std::vector<podio::root_utils::CollectionWriteInfo>"/>
    <class name="std::tuple<std::string,std::string>"/>
    <class name="std::vector<std::tuple<std::string,std::string>>"/>
    <class name="std::tuple<unsigned int,std::string,bool,unsigned int>"/>
    <class name="std::vector<std::tuple<unsigned int,std::string,bool,unsigned int>>"/>
    <class name="std::tuple<int,std::string,bool,unsigned int>"/>
    <class name="std::vector<std::tuple<int,std::string,bool,unsigned int>>"/>
    <class name="std::tuple<int,std::string,bool>"/>
    <class name="std::vector<std::tuple<int,std::string,bool>>"/>
  </selection>
</lcgdict>
"""


# podio < 1.0's GenericParameters (read by the I/O helpers in cpp/include/k4ml/io/)
_IO_SELECTION = """<lcgdict>
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
# in the builtin module: podio_legacy.h. root_io.h (the reader/writer helpers over TTree and RNTuple) is a C++
# module of its own, built beside it when first needed: ROOT's RNTuple module cannot be re-exported from the builtin
# one (rootcling: "definition is not reachable"), and parsing the header took 0.7 s of every process that read or
# wrote a file
IO_HEADERS = ("k4ml/io/podio_legacy.h",)
IO_MODULE_HEADERS = ("k4ml/io/root_io.h",)
BUILTIN_LIBRARY = "k4mlBuiltinDict"
IO_LIBRARY = "k4mlIODict"


class DatamodelBuildError(RuntimeError):
    """The generated C++ did not compile; the message holds the compiler's output."""


def root_dir() -> Path:
    """The ROOT wheel's own folder (its include/ and lib/; root-config's paths are wrong)."""
    import importlib.util

    spec = importlib.util.find_spec("ROOT")
    if spec is None or spec.origin is None:
        raise ImportError("k4mlinference needs the PyPI package 'ROOT' (pip install ROOT)")
    return Path(spec.origin).parent


def cache_root() -> Path:
    return Path(os.environ.get("K4ML_CACHE_DIR", Path.home() / ".cache" / "k4mlinference"))


@contextmanager
def locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def root_version() -> str:
    header = root_dir() / "include" / "RVersion.h"
    return header.read_text() if header.exists() else ""


def build_key(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _run(cmd: list[str], cwd: Path) -> None:
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if res.returncode != 0:
        raise DatamodelBuildError(f"command failed ({res.returncode}): {' '.join(cmd)}\n{res.stdout}\n{res.stderr}")


def _selection_body(selection: str) -> str:
    return selection.split("<selection>", 1)[1].rsplit("</selection>", 1)[0]


def _merge_selections(*selections: str) -> str:
    return "<lcgdict>\n  <selection>" + "".join(_selection_body(s) for s in selections) + "  </selection>\n</lcgdict>\n"


def _modulemap(name: str, headers: list[str], prefix: Path | None = None) -> str:
    lines = "".join(f'  header "{prefix / h if prefix else h}"\n' for h in headers)
    return f"module {name} {{\n{lines}  export *\n}}\n"


def compile_dictionary(
    build: Path, libname: str, headers: list[str], selection: str, include_dirs: list[Path], module: bool = False
) -> Path:
    """rootcling + g++ into `build/lib<libname>.so` (atomically: built in a temp dir first).

    `module`: also a C++ module `<libname>.pcm` of `headers` (found in `include_dirs[0]`, inside `build`),
    declared in `build/module.modulemap`; cling imports the module instead of parsing the headers."""
    lib = build / f"lib{libname}.so"
    if lib.exists():
        return lib
    rdir = root_dir()
    tmp = Path(tempfile.mkdtemp(prefix=f".{libname}-", dir=build))
    try:
        (tmp / "selection.xml").write_text(selection)
        incs = [f"-I{d}" for d in include_dirs]
        module_args: list[str] = []
        if module:
            modulemap = include_dirs[0] / "module.modulemap"
            modulemap.write_text(_modulemap(libname, headers))
            module_args = ["--cxxmodule", f"--moduleMapFile={modulemap}"]
        _run(
            [
                str(rdir / "bin" / "rootcling"),
                "-f",
                "Dict.cxx",
                "-s",
                str(lib),
                "-rml",
                lib.name,
                "-rmf",
                f"lib{libname}.rootmap",
                *module_args,
                *incs,
                *headers,
                "selection.xml",
            ],
            tmp,
        )
        _run(
            [
                os.environ.get("CXX", "g++"),
                "-shared",
                "-fPIC",
                "-O2",
                "-std=c++17",
                f"-I{rdir / 'include'}",
                *incs,
                "Dict.cxx",
                "-o",
                lib.name,
                f"-L{rdir / 'lib'}",
                "-lCore",
                "-lRIO",
                f"-Wl,-rpath,{rdir / 'lib'}",
            ],
            tmp,
        )
        if module:  # at run time cling reads the module maps found on its library path, so the map goes there
            (build / "module.modulemap").write_text(_modulemap(libname, headers, include_dirs[0].relative_to(build)))
            (include_dirs[0] / "module.modulemap").unlink()
        for f in tmp.iterdir():
            if f.suffix in (".so", ".pcm", ".rootmap"):
                os.replace(f, build / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return lib


NATIVE_SOURCES = REPO_CPP.parent / "src"
NATIVE_FLAGS = ["-std=c++17", "-O2", "-fPIC", "-shared"]


def native_library(name: str, defines: dict[str, Any]) -> Path:
    """`cpp/src/<name>.cpp` compiled against the builtin datamodel's headers into a cached shared library.

    For helpers that Python calls through C entry points (ctypes): compiled by the system compiler once per
    machine (keyed by the source, the headers it is built against, the defines and the compiler), so no
    process parses or JIT-compiles them. Loads the builtin datamodel first (its headers and library)."""
    load_builtin()
    source = NATIVE_SOURCES / f"{name}.cpp"
    inc = _STATE.include_dirs[0]
    flags = [*NATIVE_FLAGS, *(f"-D{k}={v}" for k, v in sorted(defines.items()))]
    cxx = os.environ.get("CXX", "g++")
    key = build_key(source.read_text(), inc.parent.name, cxx, *flags)  # builtin-<key>: the headers' own hash
    build = cache_root() / "native"
    lib = build / f"lib{name}_{key}.so"
    with locked(build / f"{name}_{key}.lock"):
        if not lib.exists():
            tmp = lib.with_name(f".{lib.name}.{os.getpid()}")
            try:
                _run([cxx, *flags, f"-I{inc}", str(source), "-o", str(tmp)], build)
                os.replace(tmp, lib)
            finally:
                tmp.unlink(missing_ok=True)
    return lib


class LoadedDatamodels:
    """What has been compiled and loaded into this process."""

    def __init__(self) -> None:
        self.datamodels: dict[str, Datamodel] = {}
        self.include_dirs: list[Path] = []
        self.core_loaded = False
        self.builtin_build: Path | None = None
        self.io_loaded = False
        self.load_seconds: dict[str, float] = {}


_STATE = LoadedDatamodels()


def cppyy_module():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the alpha wheel warns on import
        import cppyy
        import cppyy.ll  # noqa: F401  (addressof / cast need it imported)
    return cppyy


def _load_core() -> None:
    """The C++ core comes with the builtin library (see load_builtin)."""
    load_builtin()


def load_datamodel(dm: Datamodel, upstream: list[Datamodel] | None = None) -> Datamodel:
    """Generate, compile (or take from cache) and load one datamodel; idempotent per name."""
    _load_core()
    if dm.name in _STATE.datamodels:
        return _STATE.datamodels[dm.name]
    t0 = time.perf_counter()
    cppyy = cppyy_module()
    upstream = upstream or [_STATE.datamodels[u] for u in dm.upstream if u in _STATE.datamodels]
    header = generator.generate_header(dm, upstream)
    selection = generator.generate_selection(dm, upstream)
    gen_src = Path(generator.__file__).read_text()
    key = build_key(
        header, selection, gen_src, CORE_HEADER.read_text(), root_version(), *(u.content_hash for u in upstream)
    )
    build = cache_root() / f"{dm.name}-{key}"
    inc = build / "include"
    with locked(cache_root() / f"{dm.name}-{key}.lock"):
        hdr = inc / dm.name / f"{dm.name}.h"
        hdr.parent.mkdir(parents=True, exist_ok=True)
        if not hdr.exists() or hdr.read_text() != header:
            hdr.write_text(header)
        lib = compile_dictionary(
            build, f"{dm.name}Dict", [f"{dm.name}/{dm.name}.h"], selection, [inc, *_STATE.include_dirs]
        )
    cppyy.add_include_path(str(inc))
    cppyy.load_library(str(lib))
    cppyy.include(f"{dm.name}/{dm.name}.h")
    _STATE.include_dirs.append(inc)
    _STATE.datamodels[dm.name] = dm
    _STATE.load_seconds[dm.name] = time.perf_counter() - t0
    return dm


def load_builtin() -> dict[str, Datamodel]:
    """Load the C++ core, EDM4hep, the EDM4eic Tensor and the I/O helpers: one library and C++ module."""
    if _STATE.core_loaded:
        return dict(_STATE.datamodels)
    t0 = time.perf_counter()
    cppyy = cppyy_module()
    dms = load_builtin_datamodels()
    texts: dict[str, str] = {"k4ml/podio_types.h": CORE_HEADER.read_text()}
    for h in (*IO_HEADERS, *IO_MODULE_HEADERS):
        texts[h] = (REPO_CPP / h).read_text()
    selections = [_CORE_SELECTION, _IO_SELECTION]
    for i, dm in enumerate(dms):
        texts[f"{dm.name}/{dm.name}.h"] = generator.generate_header(dm, dms[:i])
        selections.append(generator.generate_selection(dm, dms[:i]))
    selection = _merge_selections(*selections)
    gen_src = Path(generator.__file__).read_text()
    headers = ["k4ml/podio_types.h", *(f"{dm.name}/{dm.name}.h" for dm in dms), *IO_HEADERS]
    key = build_key(*headers, *texts, *texts.values(), selection, gen_src, root_version(), "builtin-module-v1")
    build = cache_root() / f"builtin-{key}"
    inc = build / "include"
    with locked(cache_root() / f"builtin-{key}.lock"):
        for rel, text in texts.items():
            hdr = inc / rel
            hdr.parent.mkdir(parents=True, exist_ok=True)
            if not hdr.exists() or hdr.read_text() != text:
                hdr.write_text(text)
        lib = compile_dictionary(build, BUILTIN_LIBRARY, headers, selection, [inc], module=True)
    cppyy.add_include_path(str(inc))
    cppyy.gbl.gSystem.AddDynamicPath(str(build))  # where cling finds module.modulemap and the module's .pcm
    cppyy.load_library(str(lib))
    for h in headers[: -len(IO_HEADERS)]:
        cppyy.include(h)  # an import of the module: milliseconds
    _STATE.include_dirs.append(inc)
    _STATE.builtin_build = build
    _STATE.core_loaded = True
    for dm in dms:
        _STATE.datamodels[dm.name] = dm
        _STATE.load_seconds[dm.name] = time.perf_counter() - t0
    return dict(_STATE.datamodels)


def load_io() -> None:
    """The ROOT I/O helpers (`k4ml/io/root_io.h`) as a precompiled C++ module with its library, built once in the
    builtin build folder (so keyed by the same hash) and imported in milliseconds afterwards."""
    if _STATE.io_loaded:
        return
    load_builtin()
    cppyy = cppyy_module()
    build = _STATE.builtin_build
    io_dir = build / "io"
    lib = io_dir / f"lib{IO_LIBRARY}.so"
    with locked(build / "io.lock"):
        if not lib.exists():
            _compile_io_module(build, io_dir, lib)
    cppyy.gbl.gSystem.AddDynamicPath(str(io_dir))  # its module.modulemap and .pcm
    cppyy.load_library(str(lib))
    for h in IO_MODULE_HEADERS:
        cppyy.include(h)  # an import of the module
    _STATE.io_loaded = True


def _compile_io_module(build: Path, io_dir: Path, lib: Path) -> None:
    """rootcling --cxxmodule + g++ for IO_MODULE_HEADERS (found in the builtin include folder) into `io_dir`."""
    rdir = root_dir()
    inc = build / "include"
    io_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{IO_LIBRARY}-", dir=io_dir))
    try:
        rel = [f"../include/{h}" for h in IO_MODULE_HEADERS]  # from io/, where the module map lives at run time
        (tmp / "selection.xml").write_text('<lcgdict><selection><namespace name="k4ml::io"/></selection></lcgdict>\n')
        (tmp / "build.modulemap").write_text(_modulemap(IO_LIBRARY, [str(inc / h) for h in IO_MODULE_HEADERS]))
        _run(
            [str(rdir / "bin" / "rootcling"), "-f", "Dict.cxx", "-s", str(lib), "-rml", lib.name,
             "-rmf", f"lib{IO_LIBRARY}.rootmap", "--cxxmodule", "--moduleMapFile=build.modulemap",
             f"-I{inc}", f"-I{build}", *IO_MODULE_HEADERS, "selection.xml"],
            tmp,
        )  # fmt: skip
        _run(
            [os.environ.get("CXX", "g++"), "-shared", "-fPIC", "-O2", "-std=c++17", f"-I{rdir / 'include'}",
             f"-I{inc}", "Dict.cxx", "-o", lib.name, f"-L{rdir / 'lib'}", "-lCore", "-lRIO", "-lTree",
             "-lROOTNTuple", f"-Wl,-rpath,{rdir / 'lib'}"],
            tmp,
        )  # fmt: skip
        (tmp / "module.modulemap").write_text(_modulemap(IO_LIBRARY, rel))
        for f in tmp.iterdir():
            if f.suffix in (".pcm", ".rootmap") or f.name == "module.modulemap":
                os.replace(f, io_dir / f.name)
        os.replace(tmp / lib.name, lib)  # last: its presence means the module is complete
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def loaded() -> dict[str, Datamodel]:
    return dict(_STATE.datamodels)


def include_dirs() -> list[Path]:
    """Include paths of the loaded datamodels (for C++ algorithms compiled by cppyy)."""
    return list(_STATE.include_dirs)


if __name__ == "__main__":  # `python -m k4mlinference.edm.loader`: warm the cache
    t = time.perf_counter()
    load_builtin()
    load_io()
    from k4mlinference.edm.tensor import NATIVE_DEFINES

    native_library("tensor_ops", NATIVE_DEFINES)  # the Tensor helpers' library, compiled once per machine
    print(f"datamodels loaded in {time.perf_counter() - t:.2f} s: {', '.join(_STATE.datamodels)}", file=sys.stderr)
