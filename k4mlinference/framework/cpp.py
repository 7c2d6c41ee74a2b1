"""C++ algorithms written for k4FWCore, compiled once and run as components of k4run.

A C++ algorithm is an unchanged k4FWCore source file: `struct MyAlg final :
k4FWCore::Transformer<Out(const In&)>` (or Producer, MultiTransformer, Consumer, FilterPredicate),
`Gaudi::Property` members, `info() << ... << endmsg` and `DECLARE_COMPONENT(MyAlg)`. The headers it
includes (`k4FWCore/*.h`, `Gaudi/*.h`, `GaudiKernel/*.h`, `podio/*.h`, `edm4hep/XCollection.h`) are
ours, in cpp/include and generated from the datamodel YAML.

Sources come from cpp/algorithms/ (shipped), `k4run --cpp-source PATH_OR_GLOB` and the environment
variable `K4ML_CPP_SOURCES` (`:`-separated; a folder means every .cpp in it). Each set of sources is
compiled by the system compiler into one shared library, cached under a hash of everything that
shapes it (sources, headers, datamodel, compiler, ROOT version), and loaded with
`cppyy.load_library`: a warm start only loads it, cling parses none of the algorithm code. Component
names are found by a text scan for DECLARE_COMPONENT, so `k4run --list` and `from Configurables
import MyAlg` compile only what is used.

`CppAlgorithm` turns what the C++ base class publishes (kind, data slots with their collection types,
property table) into the same Property/Input/Output descriptors a Python algorithm has. Events pass
the event store's own collection objects by reference, and the returned collections are taken over
by Python, so C++ and Python algorithms share one chain and one memory.
"""

from __future__ import annotations

import ctypes
import fcntl
import glob
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from k4mlinference.framework import algorithm as _alg
from k4mlinference.framework import messages
from k4mlinference.framework.component import ConfigurationError
from k4mlinference.framework.properties import Input, Inputs, Output, Outputs, Property

CPP_DIR = Path(__file__).resolve().parents[2] / "cpp"
CPP_INCLUDE = CPP_DIR / "include"
BUILTIN_DIR = CPP_DIR / "algorithms"
ENV_SOURCES = "K4ML_CPP_SOURCES"
CXX_FLAGS = ["-std=c++17", "-O2", "-fPIC", "-shared", "-pthread", "-m64", "-fsized-deallocation"]
_DECLARE = re.compile(r'^\s*DECLARE_COMPONENT(?:_WITH_ID)?\(\s*([\w:]+)\s*(?:,\s*"([^"]+)")?\s*\)', re.M)

_extra_specs: list[str] = []  # --cpp-source values of this process
_libraries: dict[str, Library] = {}  # source-set key -> loaded library
_classes: dict[str, type] = {}


class CppCompileError(ConfigurationError):
    """C++ algorithm sources did not compile; the message is the compiler's (file:line: error: ...)."""


# ---------------------------------------------------------------- finding sources
def expand_sources(spec: str | Path) -> list[Path]:
    """A file, a folder (every .cpp in it) or a glob pattern -> the .cpp files, sorted."""
    text = str(spec)
    path = Path(text).expanduser()
    if path.is_dir():
        found = sorted(path.glob("*.cpp"))
    elif path.is_file():
        found = [path]
    else:
        found = sorted(Path(p) for p in glob.glob(os.path.expanduser(text)) if Path(p).is_file())
    if not found:
        raise ConfigurationError(f"C++ source {text!r}: no such file, or no .cpp file in that folder or pattern")
    return [p.resolve() for p in found]


def add_sources(spec: str | Path) -> list[Path]:
    """Make the components of `spec` (file, folder or glob) available by name in this process."""
    found = expand_sources(spec)
    _extra_specs.append(str(spec))
    return found


def take_cpp_sources(argv: list[str]) -> list[str]:
    """Remove `--cpp-source X` / `--cpp-source=X` from a command line and load those sources.

    They are also appended to K4ML_CPP_SOURCES, so worker processes of parallel runs see them."""
    rest, specs = [], []
    it = iter(argv)
    for arg in it:
        if arg == "--cpp-source":
            value = next(it, None)
            if value is None:
                raise ConfigurationError("--cpp-source needs a .cpp file, folder or glob")
            specs.append(value)
        elif arg.startswith("--cpp-source="):
            specs.append(arg.split("=", 1)[1])
        else:
            rest.append(arg)
    for spec in specs:
        expand_sources(spec)  # fail early, naming the path
    if specs:
        known = [s for s in os.environ.get(ENV_SOURCES, "").split(":") if s]
        os.environ[ENV_SOURCES] = ":".join(known + [str(Path(s).expanduser().absolute()) for s in specs])
    return rest


def source_sets() -> list[tuple[Path, ...]]:
    """The sets of sources compiled together: the shipped ones, then the user's."""
    sets = [tuple(sorted(BUILTIN_DIR.glob("*.cpp")))]
    user: list[Path] = []
    specs = [s for s in os.environ.get(ENV_SOURCES, "").split(":") if s] + _extra_specs
    for spec in specs:
        user += [p for p in expand_sources(spec) if p not in user]
    if user:
        sets.append(tuple(user))
    return [s for s in sets if s]


def scan_source(path: str | Path) -> dict[str, str]:
    """Component name -> doc (the comment above its struct) of one source (a text scan)."""
    text = Path(path).read_text()
    out = {}
    for m in _DECLARE.finditer(text):
        cls_name = m.group(1)
        doc = _doc_above(text, cls_name.rsplit("::", 1)[-1]) or _file_doc(text)
        out[m.group(2) or cls_name] = doc or f"C++ algorithm from {path}"
    return out


def _file_doc(text: str) -> str:
    """The first paragraph of the file's leading comment."""
    doc: list[str] = []
    for line in text.split("\n"):
        if not line.startswith("//") or (doc and not line.strip("/ ")):
            break
        doc.append(line.strip("/ "))
    return " ".join(d for d in doc if d)


def _doc_above(text: str, cls_name: str) -> str:
    m = re.search(rf"^(?:struct|class)\s+{re.escape(cls_name)}\b", text, re.M)
    if not m:
        return ""
    lines = text[: m.start()].rstrip("\n").split("\n")
    doc: list[str] = []
    while lines and lines[-1].lstrip().startswith("//"):
        doc.insert(0, lines.pop().lstrip().lstrip("/").strip())
    return " ".join(d for d in doc if d)


def components() -> dict[str, tuple[Path, ...]]:
    """Every known component name -> the source set that declares it (later sets win)."""
    out: dict[str, tuple[Path, ...]] = {}
    for sources in source_sets():
        for src in sources:
            for name in scan_source(src):
                out[name] = sources
    return out


# ---------------------------------------------------------------- compiling and loading
def _cppyy() -> Any:
    from k4mlinference import edm

    edm.load()
    import cppyy

    if "functional" not in _libraries:
        cppyy.add_include_path(str(CPP_INCLUDE))
        cppyy.include("k4ml/functional.h")  # AlgorithmBase, for binding instances (no algorithm code)
        _libraries["functional"] = None  # type: ignore[assignment]
    return cppyy


def _header_text() -> str:
    """Everything under cpp/include that algorithms may include, for the cache key."""
    parts = []
    for p in sorted(CPP_INCLUDE.rglob("*.h")):
        parts.append(str(p.relative_to(CPP_INCLUDE)))
        parts.append(p.read_text())
    return "\0".join(parts)


def _datamodel_includes() -> list[Path]:
    """Include folders with the loaded datamodels' headers plus podio's per-type header paths."""
    from k4mlinference.datamodel import generator
    from k4mlinference.edm import loader

    dirs = loader.include_dirs()
    for dm in loader.loaded().values():
        inc = next((d for d in dirs if (d / dm.name / f"{dm.name}.h").exists()), None)
        if inc is None:
            continue
        for rel, text in generator.type_headers(dm).items():
            p = inc / rel
            if not p.exists():
                tmp = p.with_name(f".{p.name}.{os.getpid()}")
                tmp.write_text(text)
                os.replace(tmp, p)
    return dirs


class Library:
    """One compiled and loaded shared library of C++ algorithms (one source set)."""

    def __init__(self, sources: tuple[Path, ...]) -> None:
        from k4mlinference.edm import loader

        cppyy = _cppyy()
        includes = _datamodel_includes()
        h = hashlib.sha256()
        for part in [
            _header_text(),
            *(str(d) + (d / "edm4hep" / "edm4hep.h").read_text() if (d / "edm4hep").exists() else str(d) for d in includes),
            os.environ.get("CXX", "g++"),
            " ".join(CXX_FLAGS),
            (loader.root_dir() / "include" / "RVersion.h").read_text(),
            *(f"{s.name}\0{s.read_text()}" for s in sources),  # not the folder: tests' tmp copies share a build
        ]:
            h.update(part.encode())
            h.update(b"\0")
        self.key = h.hexdigest()[:16]
        self.sources = sources
        build = loader.cache_root() / "cpp-algorithms"
        self.path = build / f"libk4mlAlgorithms_{self.key}.so"
        build.mkdir(parents=True, exist_ok=True)
        with open(build / f"{self.key}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # parallel processes share one build
            if not self.path.exists():
                self._compile(build, [CPP_INCLUDE, *includes])
        cppyy.load_library(str(self.path))
        lib = ctypes.CDLL(str(self.path))
        self._names = getattr(lib, f"k4ml_components_{self.key}")
        self._names.restype = ctypes.c_char_p
        self._create = getattr(lib, f"k4ml_create_{self.key}")
        self._create.restype = ctypes.c_void_p
        self._create.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        self._error = getattr(lib, f"k4ml_error_{self.key}")
        self._error.restype = ctypes.c_char_p

    def _compile(self, build: Path, includes: list[Path]) -> None:
        build.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=build))
        try:
            entry = tmp / "k4ml_entry.cpp"
            entry.write_text(_ENTRY.replace("KEY", self.key))
            out = tmp / self.path.name
            cmd = [
                os.environ.get("CXX", "g++"),
                *CXX_FLAGS,
                *(f"-I{d}" for d in includes),
                *(str(s) for s in self.sources),
                str(entry),
                "-o",
                str(out),
            ]
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0:
                lines = (res.stderr or res.stdout).splitlines()
                shown = "\n".join(lines[:80]) + (f"\n... ({len(lines) - 80} more lines)" if len(lines) > 80 else "")
                names = ", ".join(str(s) for s in self.sources)
                raise CppCompileError(f"compiling C++ algorithms ({names}) failed:\n{shown}")
            os.replace(out, self.path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def names(self) -> list[str]:
        return [n for n in self._names().decode().split("\n") if n]

    def create(self, type_name: str, name: str) -> Any:
        """A new instance bound as k4ml::AlgorithmBase, owned by Python."""
        cppyy = _cppyy()
        addr = self._create(type_name.encode(), name.encode())
        if not addr:
            raise ConfigurationError(f"{type_name}/{name}: {self._error().decode()}")
        obj = cppyy.bind_object(addr, cppyy.gbl.k4ml.AlgorithmBase)
        obj.__python_owns__ = True
        return obj


_ENTRY = """// Generated by k4mlinference: the library's entry points (names carry the cache key).
#include "k4ml/functional.h"

namespace {
std::string g_names, g_error;
}

extern "C" const char* k4ml_components_KEY() {
  g_names.clear();
  for (const auto& kv : k4ml::componentRegistry()) g_names += kv.first + "\\n";
  return g_names.c_str();
}

extern "C" void* k4ml_create_KEY(const char* type, const char* name) {
  try {
    auto it = k4ml::componentRegistry().find(type);
    if (it == k4ml::componentRegistry().end()) {
      g_error = std::string("no C++ component '") + type + "'";
      return nullptr;
    }
    return it->second(name);
  } catch (const std::exception& e) {
    g_error = std::string("constructor failed: ") + e.what();
    return nullptr;
  }
}

extern "C" const char* k4ml_error_KEY() { return g_error.c_str(); }
"""


def library(sources: tuple[Path, ...]) -> Library:
    """The loaded library of a source set (compiled on first use, then from the cache)."""
    key = "\0".join(str(s) for s in sources)
    if key not in _libraries:
        _libraries[key] = Library(sources)
    return _libraries[key]


# ---------------------------------------------------------------- framework classes
_KINDS = {
    "Producer": _alg.Producer,
    "Transformer": _alg.Transformer,
    "MultiTransformer": _alg.MultiTransformer,
    "Consumer": _alg.Consumer,
    "FilterPredicate": _alg.FilterPredicate,
}


def cpp_algorithm(name: str, source: str | Path | None = None) -> type:
    """The framework class of C++ component `name` (from `source`: file, folder or glob; or any known source)."""
    if source is not None:
        add_sources(source)
    if name in _classes and source is None:
        return _classes[name]
    known = components()
    if name not in known:
        where = f" in {source}" if source is not None else ""
        raise ConfigurationError(f"no C++ component {name!r}{where} (DECLARE_COMPONENT({name}) in a loaded source)")
    lib = library(known[name])
    docs = {n: d for s in known[name] for n, d in scan_source(s).items()}
    proto = lib.create(name, name)
    kind = str(proto.kind())
    attrs: dict[str, Any] = {
        "__doc__": docs.get(name, ""),
        "__module__": "k4mlinference.framework.cpp",
        "_cpp_name": name,
        "_library": lib,
        "_type_name": name,
        "_cpp_props": [],
    }
    for i in range(proto.numInputs()):
        slot = proto.input(i)
        handle = Inputs if slot.multiple else Input
        locs = [str(x) for x in slot.locations]
        attrs[str(slot.key)] = handle(locs if slot.multiple else locs[0], type=str(slot.type))
    for i in range(proto.numOutputs()):
        slot = proto.output(i)
        handle = Outputs if slot.multiple else Output
        locs = [str(x) for x in slot.locations]
        attrs[str(slot.key)] = handle(locs if slot.multiple else locs[0], type=str(slot.type))
    for i in range(proto.numProperties()):
        pname, ptype = str(proto.propertyName(i)), str(proto.propertyType(i))
        default = [str(v) for v in proto.propertyDefault(i)]
        attrs[pname] = _make_property(ptype, default, str(proto.propertyDoc(i)))
        attrs["_cpp_props"].append(pname)
    base = _alg.MultiTransformer if kind == "MultiTransformer" else _KINDS[kind]
    cls = type(name.replace("::", "__"), (CppAlgorithm, base), attrs)
    for key, value in attrs.items():
        if isinstance(value, Property):
            value.__set_name__(cls, key)
    _classes[name] = cls
    return cls


def _make_property(ptype: str, default: list[str], doc: str) -> Property:
    scalar = {"int": int, "float": float, "bool": bool, "str": str}
    if ptype.startswith("list[") and ptype.endswith("]"):
        et = scalar[ptype[5:-1]]
        proto = Property([], type=list, element_type=et)
        proto.name = "?"
        return Property(proto.parse(default) if default else [], doc=doc, type=list, element_type=et)
    proto = Property(scalar[ptype]())
    proto.name = "?"
    return Property(proto.parse(default), doc=doc, type=scalar[ptype])


def _to_strings(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [
        ("true" if v else "false") if isinstance(v, bool) else repr(v) if isinstance(v, float) else str(v)
        for v in values
    ]


class CppAlgorithm(_alg.Algorithm):
    """Python face of one C++ algorithm instance; calls go through the type-erased C++ interface."""

    _cpp_name = ""
    _cpp_props: list[str] = []
    _library: Library

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        if self.__dict__.get("_initialized"):  # the same instance again (Gaudi's naming rule)
            super().__init__(name, **properties)
            return
        self.__dict__["_cpp"] = self._library.create(self._cpp_name, name or self._cpp_name)
        super().__init__(name, **properties)
        for key in self._cpp_props:  # defaults and values set before the object existed
            self._push(key)
        self._out_classes: list[Any] = []

    def cpp_instance(self) -> Any:
        """The C++ object as its own struct type (needs the struct's declaration in cling)."""
        cppyy = _cppyy()
        cls = cppyy.gbl
        for part in self._cpp_name.split("::"):
            cls = getattr(cls, part)
        return cppyy.bind_object(cppyy.ll.addressof(self._cpp), cls)

    def _push(self, key: str) -> None:
        try:
            self._cpp.setProperty(key, _to_strings(self.get_property(key)))
        except Exception as exc:
            raise ConfigurationError(f"{self._cpp_name}/{self.name}: {exc}") from None

    def _property_changed(self, key: str) -> None:
        if key in self._cpp_props and "_cpp" in self.__dict__:
            self._push(key)

    def _print_messages(self) -> None:
        threshold = int(getattr(self, "OutputLevel", 0) or 0)
        for rec in self._cpp.takeMessages():
            messages.emit(self.name, int(rec.level), str(rec.text), threshold)

    def _check(self, what: str, code: Any) -> None:
        self._print_messages()
        if code.isFailure():
            raise ConfigurationError(f"{self._cpp_name}/{self.name}: {what} returned a failure StatusCode")

    def initialize(self) -> None:
        from k4mlinference import edm

        c = self._cpp
        c.setName(self.name)
        c.setOutputLevel(int(getattr(self, "OutputLevel", 0) or 0) or messages.get_level())
        for i, h in enumerate(self.input_handles()):
            c.setInputLocations(i, h.names(self))
        outs = self.output_handles()
        for i, h in enumerate(outs):
            c.setOutputLocations(i, h.names(self))
        self._out_classes = [edm.collection_class(h.collection_type) for h in outs]
        self._out_multiple = [isinstance(h, Outputs) for h in outs]
        ins = self.input_handles()
        fast = {0: c.call0, 1: c.call1, 2: c.call2, 3: c.call3}.get(len(ins))
        if fast is not None and not any(isinstance(h, Inputs) for h in ins):
            self._call = fast
        else:
            cppyy = _cppyy()
            vec_t, cnt_t = cppyy.gbl.std.vector["const k4ml::CollectionBase*"], cppyy.gbl.std.vector["std::size_t"]

            def call_n(*args: Any, _c=c) -> Any:
                v, n = vec_t(), cnt_t()
                for a in args:
                    group = a if isinstance(a, list) else [a]
                    for x in group:
                        v.push_back(x)
                    n.push_back(len(group))
                return _c.callErased(v, n)

            self._call = call_n
        self._set_event = c.setEventNumber
        self._bind = _cppyy().bind_object
        self._check("initialize()", c.initialize())

    def finalize(self) -> None:
        self._check("finalize()", self._cpp.finalize())

    def __call__(self, *inputs: Any) -> Any:
        self._set_event(max(self.event_number, 0))
        try:
            res = self._call(*inputs)
        finally:
            if self._cpp.hasMessages():
                self._print_messages()
        if self.kind == "FilterPredicate":
            return bool(res.passed)
        outs, k = [], 0
        for slot, cls in enumerate(self._out_classes):
            group = []
            for _ in range(int(res.count(slot))):
                obj = self._bind(int(res.outputAddress(k)), cls)
                obj.__python_owns__ = True  # Python now owns (and deletes) the C++ result
                group.append(obj)
                k += 1
            outs.append(group if self._out_multiple[slot] else group[0])
        if self.kind == "MultiTransformer":
            return tuple(outs)
        return outs[0] if outs else None
