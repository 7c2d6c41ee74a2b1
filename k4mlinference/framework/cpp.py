"""C++ functional algorithms (cpp/include/k4ml/functional.h) as framework algorithms.

Any struct deriving from `k4ml::Transformer<...>` & co. and registered with `K4ML_ALGORITHM(Name, "doc")`
is wrapped generically: cppyy compiles its header, the base class tells the kind, the input/output
keys and collection types, and the property table; `CppAlgorithm` turns those into the same
Property/Input/Output descriptors a Python algorithm has. Events are passed as the very collection
objects of the event store (by reference, no copy) and the returned collections are taken over by
Python, so C++ and Python algorithms share one chain and one memory.

Headers are found in `cpp/include/k4ml/algorithms/` (scanned for `K4ML_ALGORITHM` without compiling)
or named explicitly: `cpp_algorithm("MyAlg", "path/to/MyAlg.h")` in an options file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from k4mlinference.framework import algorithm as _alg
from k4mlinference.framework.component import ConfigurationError
from k4mlinference.framework.properties import Input, Output, Property

CPP_INCLUDE = Path(__file__).resolve().parents[2] / "cpp" / "include"
ALGORITHM_DIR = CPP_INCLUDE / "k4ml" / "algorithms"
_MACRO = re.compile(r'^\s*K4ML_ALGORITHM\(\s*(\w+)\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)', re.M)

_compiled: set[str] = set()
_classes: dict[str, type] = {}


def scan_header(path: str | Path) -> dict[str, str]:
    """name -> doc of the algorithms a header registers (a text scan; nothing is compiled)."""
    return {m.group(1): m.group(2).replace('\\"', '"') for m in _MACRO.finditer(Path(path).read_text())}


def builtin_headers() -> dict[str, Path]:
    """name -> header for the C++ algorithms shipped in cpp/include/k4ml/algorithms/."""
    out: dict[str, Path] = {}
    for header in sorted(ALGORITHM_DIR.glob("*.h")):
        for name in scan_header(header):
            out[name] = header
    return out


def _cppyy():
    from k4mlinference import edm
    from k4mlinference.edm import loader

    edm.load()
    cppyy = loader._cppyy()
    if "functional" not in _compiled:
        cppyy.add_include_path(str(CPP_INCLUDE))
        cppyy.include("k4ml/functional.h")
        _compiled.add("functional")
    return cppyy


def compile_header(path: str | Path) -> None:
    """Compile (once per process) a header defining C++ algorithms."""
    path = Path(path).resolve()
    if not path.exists():
        raise ConfigurationError(f"C++ algorithm header {str(path)!r} does not exist")
    key = str(path)
    if key in _compiled:
        return
    cppyy = _cppyy()
    cppyy.add_include_path(str(path.parent))
    try:
        ok = cppyy.include(str(path))
    except Exception as exc:  # cppyy raises ImportError with the compiler output
        raise ConfigurationError(f"compiling C++ algorithm header {path}: {exc}") from None
    if ok is False:
        raise ConfigurationError(f"compiling C++ algorithm header {path} failed (see the compiler output above)")
    _compiled.add(key)


def cpp_algorithm(name: str, header: str | Path | None = None) -> type:
    """The framework class of the C++ algorithm `name` (from `header`, or a shipped one)."""
    if name in _classes:
        return _classes[name]
    if header is None:
        headers = builtin_headers()
        if name not in headers:
            raise ConfigurationError(f"no C++ algorithm {name!r} in {ALGORITHM_DIR}")
        header = headers[name]
    docs = scan_header(header) if Path(header).exists() else {}
    compile_header(header)
    cppyy = _cppyy()
    if name not in list(cppyy.gbl.k4ml.algorithmNames()):
        raise ConfigurationError(f'{header} does not register a C++ algorithm {name!r} (K4ML_ALGORITHM({name}, "doc"))')
    proto = _new_instance(cppyy, name)
    kind = str(proto.kind())
    base = {
        "Producer": _alg.Producer,
        "Transformer": _alg.Transformer,
        "MultiTransformer": _alg.MultiTransformer,
        "Consumer": _alg.Consumer,
        "FilterPredicate": _alg.FilterPredicate,
    }[kind]
    attrs: dict[str, Any] = {
        "__doc__": docs.get(name) or str(cppyy.gbl.k4ml.algorithmDoc(name)),
        "__module__": "k4mlinference.framework.cpp",
        "_cpp_name": name,
        "_header": str(header),
        "_type_name": name,
        "_cpp_props": [],
    }
    in_types, out_types = list(proto.inputTypes()), list(proto.outputTypes())
    for (key, default), ctype in zip(proto.inputKeys(), in_types):
        attrs[str(key)] = Input(str(default), type=str(ctype))
    for (key, default), ctype in zip(proto.outputKeys(), out_types):
        attrs[str(key)] = Output(str(default), type=str(ctype))
    for i in range(proto.numProperties()):
        pname, ptype = str(proto.propertyName(i)), str(proto.propertyType(i))
        default = [str(v) for v in proto.propertyDefault(i)]
        attrs[pname] = _make_property(ptype, default, str(proto.propertyDoc(i)))
        attrs["_cpp_props"].append(pname)
    cls = type(name, (CppAlgorithm, base), attrs)
    for key in attrs:
        if isinstance(attrs[key], Property):
            attrs[key].__set_name__(cls, key)
    _classes[name] = cls
    return cls


def _new_instance(cppyy: Any, name: str) -> Any:
    """A new C++ instance bound as k4ml::AlgorithmBase (owned by Python)."""
    obj = cppyy.bind_object(int(cppyy.gbl.k4ml.createAlgorithmAddress(name)), cppyy.gbl.k4ml.AlgorithmBase)
    obj.__python_owns__ = True
    return obj


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

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        if self.__dict__.get("_initialized"):  # the same instance again (Gaudi's naming rule)
            super().__init__(name, **properties)
            return
        cppyy = _cppyy()
        self.__dict__["_cpp"] = _new_instance(cppyy, self._cpp_name)
        super().__init__(name, **properties)
        for key in self._cpp_props:  # defaults and values set before the object existed
            self._push(key)
        self._out_classes: list[Any] = []

    def cpp_instance(self) -> Any:
        """The C++ object as its own struct type (for members beyond the AlgorithmBase interface)."""
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

    def initialize(self) -> None:
        from k4mlinference import edm

        self._out_classes = [edm.collection_class(h.collection_type) for h in self.output_handles()]
        n_in = len(self.input_handles())
        c = self._cpp
        self._call = {0: c.call0, 1: c.call1, 2: c.call2, 3: c.call3}.get(n_in)
        if self._call is None:
            vec_t = _cppyy().gbl.std.vector["const k4ml::CollectionBase*"]

            def call_n(*colls: Any, _c=c, _v=vec_t) -> Any:
                v = _v()
                for x in colls:
                    v.push_back(x)
                return _c.callErased(v)

            self._call = call_n
        self._set_event = c.setEventNumber
        self._bind = _cppyy().bind_object
        c.initialize()

    def finalize(self) -> None:
        self._cpp.finalize()

    def __call__(self, *inputs: Any) -> Any:
        self._set_event(max(self.event_number, 0))
        res = self._call(*inputs)
        outs = []
        for i, cls in enumerate(self._out_classes):
            obj = self._bind(int(res.outputAddress(i)), cls)
            obj.__python_owns__ = True  # Python now owns (and deletes) the C++ result
            outs.append(obj)
        if self.kind == "FilterPredicate":
            return bool(res.passed)
        if self.kind == "MultiTransformer":
            return tuple(outs)
        return outs[0] if outs else None
