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
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from k4mlinference.edm.frame import parameter_values
from k4mlinference.framework import algorithm as _alg
from k4mlinference.framework import messages
from k4mlinference.framework.component import ConfigurationError
from k4mlinference.framework.properties import Input, Inputs, Output, Outputs, Property

CPP_DIR = Path(__file__).resolve().parents[2] / "cpp"
CPP_INCLUDE = CPP_DIR / "include"
BUILTIN_DIR = CPP_DIR / "algorithms"
ENV_SOURCES = "K4ML_CPP_SOURCES"
CXX_FLAGS = ["-std=c++20", "-O2", "-fPIC", "-shared", "-pthread", "-m64", "-fsized-deallocation"]
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
def _header_text() -> str:
    """Everything under cpp/include that algorithms may include, for the cache key."""
    parts = []
    for p in sorted(CPP_INCLUDE.rglob("*.h")):
        parts.append(str(p.relative_to(CPP_INCLUDE)))
        parts.append(p.read_text())
    return "\0".join(parts)


def _datamodel_includes() -> list[Path]:
    """Include folders with the loaded datamodels' headers plus podio's per-type header paths."""
    from k4mlinference import edm
    from k4mlinference.datamodel import generator
    from k4mlinference.edm import loader

    edm.load()
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


_ENTRY = """// Generated by k4mlinference: the library's C entry points (names carry the cache key).
#define K4ML_ABI(name) k4ml_##name##_KEY
#include "k4ml/component_abi.h"
"""

# entry point -> (result type, argument types), see cpp/include/k4ml/component_abi.h
_P, _S, _L, _Z = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_long, ctypes.c_size_t
_ABI = {
    "components": (_S, []),
    "create": (_P, [_S, _S]),
    "destroy": (None, [_P]),
    "error": (_S, []),
    "describe": (_S, [_P]),
    "set_property": (_L, [_P, _S, _S, _Z]),
    "get_property": (_S, [_P, _S]),
    "configure": (None, [_P, _S, ctypes.c_int]),
    "set_locations": (_L, [_P, ctypes.c_int, _Z, _S, _Z]),
    "initialize": (_L, [_P]),
    "finalize": (_L, [_P]),
    "call": (_L, [_P, ctypes.c_uint64, _P, _P, _Z, _P, _P, _Z, _P]),
    "call_batch": (_L, [_P, _P, _Z, _P, _P, _Z, _P, _P, _Z, _Z, _P, _P, _P]),
    "messages": (_S, [_P]),
    "has_messages": (_L, [_P]),
    "metadata_clear": (None, []),
    "metadata_seed": (_L, [_S, ctypes.c_char, _S, _Z]),
    "metadata_take": (_S, []),
}


class Library:
    """One compiled and loaded shared library of C++ algorithms (one source set), driven through its C
    entry points (ctypes): nothing of it is parsed by cling."""

    def __init__(self, sources: tuple[Path, ...]) -> None:
        import cppyy

        from k4mlinference.edm import loader

        includes = _datamodel_includes()
        h = hashlib.sha256()
        for part in [
            _header_text(),
            *((d / "edm4hep" / "edm4hep.h").read_text() for d in includes if (d / "edm4hep" / "edm4hep.h").exists()),
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
        self.fn: dict[str, Any] = {}
        for name, (res, args) in _ABI.items():
            f = getattr(lib, f"k4ml_{name}_{self.key}")
            f.restype, f.argtypes = res, args
            self.fn[name] = f

    def _compile(self, build: Path, includes: list[Path]) -> None:
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

    def error(self) -> str:
        return self.fn["error"]().decode()

    def names(self) -> list[str]:
        return [n for n in self.fn["components"]().decode().split("\x1f") if n]

    def create(self, type_name: str, name: str) -> int:
        """A new C++ instance (its address); the caller destroys it with fn['destroy']."""
        addr = self.fn["create"](type_name.encode(), name.encode())
        if not addr:
            raise ConfigurationError(f"{type_name}/{name}: {self.error()}")
        return addr

    def describe(self, addr: int) -> dict[str, Any]:
        return json.loads(self.fn["describe"](addr).decode())

    def seed_metadata(self, params: dict[str, Any]) -> None:
        """Empty the library's metadata store (k4ml/metadata.h), then fill it with `params` (the input
        file's `metadata` frame and the options' putMetadata), what k4FWCore::getParameter reads."""
        self.fn["metadata_clear"]()
        codes = {"int": b"i", "float": b"f", "double": b"d", "string": b"s"}
        for key, value in params.items():
            try:
                kind, values = parameter_values(key, value)
            except TypeError:
                continue  # a type no k4FWCore::getParameter can ask for
            if not kind:
                continue
            texts = [repr(v) if isinstance(v, float) else str(v) for v in values]
            if self.fn["metadata_seed"](key.encode(), codes[kind], "\x1f".join(texts).encode(), len(texts)) < 0:
                raise ConfigurationError(f"metadata parameter {key!r}: {self.error()}")

    def take_metadata(self) -> dict[str, Any]:
        """The parameters the library's algorithms put (k4FWCore::putParameter) in this run, typed as the
        writer needs them: int, numpy.float32 (float), float (double), str; vectors as lists."""
        conv = {"int": int, "float": np.float32, "double": float, "string": str}
        out: dict[str, Any] = {}
        for key, (kind, values) in json.loads(self.fn["metadata_take"]().decode()).items():
            vals = [conv[kind](v) for v in values]
            out[key] = vals[0] if len(vals) == 1 and kind != "string" else vals
        return out


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


def _slot_handle(slot: dict[str, Any], single: type, multiple: type) -> Property:
    if slot["multiple"]:
        return multiple(list(slot["locations"]), type=slot["type"])
    return single(slot["locations"][0], type=slot["type"])


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
    try:
        info = lib.describe(proto)
    finally:
        lib.fn["destroy"](proto)
    attrs: dict[str, Any] = {
        "__doc__": docs.get(name, ""),
        "__module__": "k4mlinference.framework.cpp",
        "_cpp_name": name,
        "_library": lib,
        "_type_name": name,
        "_cpp_props": [],
    }
    for slot in info["inputs"]:
        attrs[slot["key"]] = _slot_handle(slot, Input, Inputs)
    for slot in info["outputs"]:
        attrs[slot["key"]] = _slot_handle(slot, Output, Outputs)
    for prop in info["properties"]:
        attrs[prop["name"]] = _make_property(prop["type"], prop["default"], prop["doc"])
        attrs["_cpp_props"].append(prop["name"])
    cls = type(name.replace("::", "__"), (CppAlgorithm, _KINDS[info["kind"]]), attrs)
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
    """Python face of one C++ algorithm instance, driven through its library's C entry points."""

    _cpp_name = ""
    _cpp_props: list[str] = []
    _library: Library

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        if self.__dict__.get("_initialized"):  # the same instance again (Gaudi's naming rule)
            super().__init__(name, **properties)
            return
        self.__dict__["_fn"] = self._library.fn
        self.__dict__["_cpp"] = self._library.create(self._cpp_name, name or self._cpp_name)
        super().__init__(name, **properties)
        for key in self._cpp_props:  # defaults and values set before the object existed
            self._push(key)

    def __del__(self) -> None:
        addr = self.__dict__.pop("_cpp", None)
        if addr:
            self._fn["destroy"](addr)

    def cpp_property(self, key: str) -> list[str]:
        """The C++ object's current value of property `key`, as the strings it formats."""
        text = self._fn["get_property"](self._cpp, key.encode())
        if text is None:
            raise ConfigurationError(f"{self._cpp_name}/{self.name}: {self._library.error()}")
        return text.decode().split("\x1f")

    def _push(self, key: str) -> None:
        values = _to_strings(self.get_property(key))
        if self._fn["set_property"](self._cpp, key.encode(), "\x1f".join(values).encode(), len(values)) < 0:
            raise ConfigurationError(f"{self._cpp_name}/{self.name}: {self._library.error()}")

    def _property_changed(self, key: str) -> None:
        if key in self._cpp_props and "_cpp" in self.__dict__:
            self._push(key)

    def _print_messages(self) -> None:
        threshold = int(getattr(self, "OutputLevel", 0) or 0)
        parts = self._fn["messages"](self._cpp).decode().split("\x1f")
        for level, text in zip(parts[::2], parts[1::2]):
            messages.emit(self.name, int(level), text, threshold)

    def _lifecycle(self, what: str) -> None:
        code = self._fn[what](self._cpp)
        self._print_messages()
        if code < 0:
            raise ConfigurationError(f"{self._cpp_name}/{self.name}: {what}() threw: {self._library.error()}")
        if code == 0:
            raise ConfigurationError(f"{self._cpp_name}/{self.name}: {what}() returned StatusCode::FAILURE")

    def initialize(self) -> None:
        from k4mlinference import edm

        fn, c = self._fn, self._cpp
        fn["configure"](c, self.name.encode(), int(getattr(self, "OutputLevel", 0) or 0) or messages.get_level())
        for direction, handles in ((1, self.input_handles()), (0, self.output_handles())):
            for i, h in enumerate(handles):
                names = h.names(self)
                if fn["set_locations"](c, direction, i, "\x1f".join(names).encode(), len(names)) < 0:
                    raise ConfigurationError(f"{self._cpp_name}/{self.name}: {self._library.error()}")
        outs = self.output_handles()
        self._out_classes = [edm.collection_class(h.collection_type) for h in outs]
        self._out_multiple = [isinstance(h, Outputs) for h in outs]
        n_in = len(self.input_handles())
        capacity = max(len(self.output_names()), 1)
        self._buffers = (
            (ctypes.c_size_t * max(n_in, 1))(),
            (ctypes.c_void_p * capacity)(),
            (ctypes.c_size_t * max(len(outs), 1))(),
            (ctypes.c_int * 2)(),
        )
        self._capacity = capacity
        self._lifecycle("initialize")

    def finalize(self) -> None:
        self._lifecycle("finalize")

    def __call__(self, *inputs: Any) -> Any:
        import cppyy

        addressof = cppyy.ll.addressof
        counts, out, out_counts, flags = self._buffers
        addrs = []
        for i, arg in enumerate(inputs):
            group = arg if isinstance(arg, list) else (arg,)
            counts[i] = len(group)
            addrs += [addressof(x) for x in group]
        in_arr = (ctypes.c_void_p * max(len(addrs), 1))(*addrs)
        n = self._fn["call"](
            self._cpp, max(self.event_number, 0), in_arr, counts, len(inputs), out, out_counts, self._capacity, flags
        )
        if flags[1]:
            self._print_messages()
        if n < 0:
            raise RuntimeError(self._library.error())
        if self.kind == "FilterPredicate":
            return bool(flags[0])
        bind = cppyy.bind_object
        results, k = [], 0
        for slot, cls in enumerate(self._out_classes):
            group = []
            for _ in range(out_counts[slot]):
                obj = bind(out[k], cls)
                obj.__python_owns__ = True  # Python now owns (and deletes) the C++ result
                group.append(obj)
                k += 1
            results.append(group if self._out_multiple[slot] else group[0])
        if self.kind == "MultiTransformer":
            return tuple(results)
        return results[0] if results else None

    def process_batch(self, events: list[tuple]) -> list:
        """A block of events in one C call (the loop's path): one ctypes crossing per block, not per event.

        Every event passes the same number of collections per input slot (the configured names);
        anything else (a hand-made list of events) goes event by event through `__call__`."""
        n = len(events)
        if not n:
            return []
        import cppyy

        addressof = cppyy.ll.addressof
        first = events[0]
        counts = [len(a) if isinstance(a, list) else 1 for a in first]
        if len(counts) == 1 and counts[0] == 1 and not isinstance(first[0], list):
            try:
                addrs = [addressof(args[0]) for args in events]
            except (TypeError, IndexError):  # not one collection per event: the general path explains
                return super().process_batch(events)
        else:
            addrs = []
            for args in events:
                for a in args:
                    if isinstance(a, list):
                        addrs += [addressof(x) for x in a]
                    else:
                        addrs.append(addressof(a))
        per = sum(counts)
        if len(addrs) != n * per or any(len(args) != len(counts) for args in events):
            return super().process_batch(events)
        numbers = self.event_numbers if len(self.event_numbers) == n else [self.event_number] * n
        n_slots, capacity = len(self._out_classes), self._capacity
        out = (ctypes.c_void_p * (n * capacity))()
        out_counts = (ctypes.c_size_t * max(n * n_slots, 1))()
        passed = (ctypes.c_int * n)()
        flags = self._buffers[3]
        failed = ctypes.c_size_t(0)
        done = self._fn["call_batch"](
            self._cpp,
            (ctypes.c_uint64 * n)(*(max(x, 0) for x in numbers)),
            n,
            (ctypes.c_void_p * max(len(addrs), 1))(*addrs),
            (ctypes.c_size_t * max(len(counts), 1))(*counts),
            len(counts),
            out,
            out_counts,
            n_slots,
            capacity,
            passed,
            flags,
            ctypes.byref(failed),
        )
        if flags[1]:
            self._print_messages()
        if done < 0:
            self.__dict__["event_number"] = numbers[min(failed.value, n - 1)]  # the loop's message names it
            raise RuntimeError(self._library.error())
        if self.kind == "FilterPredicate":
            return [bool(p) for p in passed]
        bind = cppyy.bind_object
        addresses = out[:]
        classes = self._out_classes
        per_event_counts = out_counts[: n * n_slots]
        if (
            n_slots == 1
            and not self._out_multiple[0]
            and self.kind != "MultiTransformer"
            and min(per_event_counts) == 1
        ):
            cls = classes[0]  # one collection out per event: the common case
            results = []
            for e in range(n):
                obj = bind(addresses[e * capacity], cls)
                obj.__python_owns__ = True  # Python now owns (and deletes) the C++ result
                results.append(obj)
            return results
        if not n_slots:
            return [None] * n
        results = []
        for e in range(n):
            k = e * capacity
            group_results = []
            for slot, cls in enumerate(classes):
                group = []
                for _ in range(per_event_counts[e * n_slots + slot]):
                    obj = bind(addresses[k], cls)
                    obj.__python_owns__ = True
                    group.append(obj)
                    k += 1
                group_results.append(group if self._out_multiple[slot] else group[0])
            results.append(tuple(group_results) if self.kind == "MultiTransformer" else group_results[0])
        return results


if __name__ == "__main__":  # `python -m k4mlinference.framework.cpp`: build the shipped algorithms' library
    import time

    t0 = time.perf_counter()
    shipped = library(source_sets()[0])
    print(f"C++ algorithms {', '.join(shipped.names())} ready in {time.perf_counter() - t0:.1f} s: {shipped.path}")
