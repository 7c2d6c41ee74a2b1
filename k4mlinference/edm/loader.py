"""Compile the datamodel and load it into ROOT's cppyy, with a content-keyed cache.

Route (see shared notes on the ROOT wheel): generated headers + a selection XML -> `rootcling`
-> `g++ -shared` -> `cppyy.load_library`. The dictionaries give ROOT the collection proxies it
needs to read and write `vector<XData>` branches, and class versions equal to the schema
version, as podio's. The library is cached under a hash of everything that shapes it (the
datamodel, the generator, the C++ core headers, the ROOT version), so a warm start only loads
it. Compilation happens under a file lock, so parallel processes share one build.
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


def compile_dictionary(build: Path, libname: str, headers: list[str], selection: str, include_dirs: list[Path]) -> Path:
    """rootcling + g++ into `build/lib<libname>.so` (atomically: built in a temp dir first)."""
    lib = build / f"lib{libname}.so"
    if lib.exists():
        return lib
    rdir = root_dir()
    tmp = Path(tempfile.mkdtemp(prefix=f".{libname}-", dir=build))
    try:
        (tmp / "selection.xml").write_text(selection)
        incs = [f"-I{d}" for d in include_dirs]
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
        for f in tmp.iterdir():
            if f.suffix in (".so", ".pcm", ".rootmap"):
                os.replace(f, build / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return lib


class LoadedDatamodels:
    """What has been compiled and loaded into this process."""

    def __init__(self) -> None:
        self.datamodels: dict[str, Datamodel] = {}
        self.include_dirs: list[Path] = []
        self.core_loaded = False
        self.load_seconds: dict[str, float] = {}


_STATE = LoadedDatamodels()


def cppyy_module():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the alpha wheel warns on import
        import cppyy
        import cppyy.ll  # noqa: F401  (addressof / cast need it imported)
    return cppyy


def _load_core() -> None:
    if _STATE.core_loaded:
        return
    cppyy = cppyy_module()
    core_text = CORE_HEADER.read_text()
    key = build_key(core_text, _CORE_SELECTION, root_version(), "core-v1")
    build = cache_root() / f"core-{key}"
    inc = build / "include"
    with locked(cache_root() / f"core-{key}.lock"):
        (inc / "k4ml").mkdir(parents=True, exist_ok=True)
        hdr = inc / "k4ml" / "podio_types.h"
        if not hdr.exists() or hdr.read_text() != core_text:
            hdr.write_text(core_text)
        lib = compile_dictionary(build, "k4mlPodioDict", ["k4ml/podio_types.h"], _CORE_SELECTION, [inc])
    cppyy.add_include_path(str(inc))
    cppyy.load_library(str(lib))
    cppyy.include("k4ml/podio_types.h")
    _STATE.include_dirs.append(inc)
    _STATE.core_loaded = True


def load_datamodel(dm: Datamodel, upstream: list[Datamodel] | None = None) -> Datamodel:
    """Generate, compile (or take from cache) and load one datamodel; idempotent per name."""
    if dm.name in _STATE.datamodels:
        return _STATE.datamodels[dm.name]
    t0 = time.perf_counter()
    _load_core()
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
    """Load EDM4hep and the EDM4eic Tensor (upstream first)."""
    for dm in load_builtin_datamodels():
        load_datamodel(dm)
    return dict(_STATE.datamodels)


def loaded() -> dict[str, Datamodel]:
    return dict(_STATE.datamodels)


def include_dirs() -> list[Path]:
    """Include paths of the loaded datamodels (for C++ algorithms compiled by cppyy)."""
    return list(_STATE.include_dirs)


if __name__ == "__main__":  # `python -m k4mlinference.edm.loader`: warm the cache
    t = time.perf_counter()
    load_builtin()
    print(f"datamodels loaded in {time.perf_counter() - t:.2f} s: {', '.join(_STATE.datamodels)}", file=sys.stderr)
