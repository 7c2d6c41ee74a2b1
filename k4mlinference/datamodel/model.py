"""Parse a podio datamodel definition (YAML file or the JSON stored in podio files).

podio writes the same schema to `podio_metadata/EDMDefinitions` as JSON, so one parser serves
our own YAML and any datamodel found in a user's file.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
BUILTIN_FILES = ("edm4hep.yaml", "edm4eic.yaml")
# libyaml parses EDM4hep in 3 ms instead of 50 ms (part of every k4run start-up)
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# C++ builtin or fixed-width type -> numpy type code. podio allows exactly these.
_NUMPY_TYPES = {
    "bool": "?",
    "char": "i1",
    "short": "i2",
    "int": "i4",
    "long": "i8",
    "long long": "i8",
    "unsigned": "u4",
    "unsigned int": "u4",
    "unsigned long": "u8",
    "unsigned long long": "u8",
    "float": "f4",
    "double": "f8",
    "int8_t": "i1",
    "int16_t": "i2",
    "int32_t": "i4",
    "int64_t": "i8",
    "uint8_t": "u1",
    "uint16_t": "u2",
    "uint32_t": "u4",
    "uint64_t": "u8",
}

_MEMBER_RE = re.compile(
    r"^\s*(?P<type>.+?)\s+(?P<name>[A-Za-z_]\w*)\s*"
    r"(?:\{(?P<default>[^}]*)\})?\s*(?:\[(?P<unit>[^\]]*)\])?\s*(?://\s*(?P<doc>.*))?$"
)
_ARRAY_RE = re.compile(r"^std::array<\s*(?P<type>[\w:\s]+?)\s*,\s*(?P<n>\d+)\s*>$")


def normalize_type(cpp: str) -> str:
    """'std::int32_t' -> 'int32_t', 'std::array<float,3>' -> 'std::array<float, 3>'."""
    cpp = " ".join(cpp.split())
    m = _ARRAY_RE.match(cpp)
    if m:
        return f"std::array<{normalize_type(m['type'])}, {m['n']}>"
    if cpp.startswith("std::") and cpp[5:] in _NUMPY_TYPES:
        return cpp[5:]
    return cpp


@dataclass
class Member:
    """One data member: `<type> <name>{default} [unit] // doc`."""

    type: str
    name: str
    default: str | None = None
    unit: str | None = None
    doc: str = ""

    @property
    def array(self) -> tuple[str, int] | None:
        m = _ARRAY_RE.match(self.type)
        return (m["type"].strip(), int(m["n"])) if m else None

    @property
    def is_builtin(self) -> bool:
        return self.type in _NUMPY_TYPES

    @property
    def cpp_type(self) -> str:
        t = self.type
        if t in _NUMPY_TYPES and t.endswith("_t"):
            return "std::" + t
        arr = self.array
        if arr:
            inner = "std::" + arr[0] if arr[0].endswith("_t") else arr[0]
            return f"std::array<{inner}, {arr[1]}>"
        return t


@dataclass
class Relation:
    """A OneToOne or OneToMany relation to another datatype (or interface)."""

    type: str
    name: str
    doc: str = ""


class _QualifiedName:
    """`ns::Name` split into its namespace and bare name (C++ generation needs both)."""

    name: str

    @property
    def namespace(self) -> str:
        return self.name.rsplit("::", 1)[0] if "::" in self.name else ""

    @property
    def bare_name(self) -> str:
        return self.name.rsplit("::", 1)[-1]


@dataclass
class Component(_QualifiedName):
    name: str  # fully qualified, e.g. edm4hep::Vector3f
    members: list[Member]
    description: str = ""


@dataclass
class Datatype(_QualifiedName):
    name: str  # fully qualified, e.g. edm4hep::MCParticle
    members: list[Member]
    vector_members: list[Member] = field(default_factory=list)
    one_to_one: list[Relation] = field(default_factory=list)
    one_to_many: list[Relation] = field(default_factory=list)
    description: str = ""
    link: tuple[str, str] | None = None  # (From, To) for podio links

    @property
    def collection_type(self) -> str:
        """The type name podio writes in CollectionTypeInfo."""
        if self.link:
            return f"podio::LinkCollection<{self.link[0]},{self.link[1]}>"
        return self.name + "Collection"

    @property
    def data_type(self) -> str:
        return "podio::LinkData" if self.link else self.name + "Data"

    @property
    def cpp_collection(self) -> str:
        """The C++ class that holds such a collection here."""
        return self.name + "Collection"

    @property
    def relations(self) -> list[Relation]:
        """Relations in podio's on-disk branch order: OneToMany first, then OneToOne."""
        return list(self.one_to_many) + list(self.one_to_one)

    @property
    def range_fields(self) -> list[str]:
        """The begin/end index pairs podio appends to XData: vector members, then OneToMany."""
        out = []
        for m in list(self.vector_members) + list(self.one_to_many):
            out += [m.name + "_begin", m.name + "_end"]
        return out


@dataclass
class Interface:
    name: str
    members: list[Member]
    types: list[str]


@dataclass
class Datamodel:
    """A parsed podio datamodel."""

    name: str
    schema_version: int
    components: dict[str, Component]
    datatypes: dict[str, Datatype]
    interfaces: dict[str, Interface]
    source: dict[str, Any]
    upstream: list[str] = field(default_factory=list)

    @property
    def content_hash(self) -> str:
        text = json.dumps(self.source, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def numpy_dtype(self, type_name: str, all_components: dict[str, Component] | None = None) -> np.dtype:
        """numpy dtype with C layout of a component or of a datatype's XData struct."""
        comps = dict(all_components or {})
        comps.update(self.components)
        if type_name.endswith("Data") and type_name[:-4] in self.datatypes:
            dt = self.datatypes[type_name[:-4]]
            fields = [(m.name, member_dtype(m.type, comps)) for m in dt.members]
            fields += [(f, "u4") for f in dt.range_fields]
            return np.dtype(fields, align=True)
        if type_name == "podio::LinkData":
            return np.dtype([("weight", "f4")], align=True)
        if type_name in comps:
            return np.dtype([(m.name, member_dtype(m.type, comps)) for m in comps[type_name].members], align=True)
        raise KeyError(type_name)


def builtin_dtype(cpp_type: str) -> np.dtype | None:
    """numpy dtype of a builtin C++ type (`float`, `std::int64_t`, ...), None for anything else."""
    cpp_type = normalize_type(cpp_type)
    return np.dtype(_NUMPY_TYPES[cpp_type]) if cpp_type in _NUMPY_TYPES else None


def member_dtype(cpp_type: str, components: dict[str, Component]) -> Any:
    """numpy dtype of one member type (builtin, std::array or component)."""
    cpp_type = normalize_type(cpp_type)
    if cpp_type in _NUMPY_TYPES:
        return np.dtype(_NUMPY_TYPES[cpp_type])
    m = _ARRAY_RE.match(cpp_type)
    if m:
        return (member_dtype(m["type"], components), (int(m["n"]),))
    if cpp_type in components:
        comp = components[cpp_type]
        return np.dtype([(mm.name, member_dtype(mm.type, components)) for mm in comp.members], align=True)
    raise ValueError(f"unsupported member type {cpp_type!r}")


def parse_member(text: str | dict) -> Member:
    if isinstance(text, dict):  # unquoted YAML member whose comment holds ": "
        text = " ".join(f"{k}: {v}" for k, v in text.items())
    m = _MEMBER_RE.match(str(text))
    if not m:
        raise ValueError(f"cannot parse datamodel member {text!r}")
    return Member(
        type=normalize_type(m["type"]),
        name=m["name"],
        default=m["default"],
        unit=m["unit"],
        doc=(m["doc"] or "").strip(),
    )


def parse_relation(text: str) -> Relation:
    m = parse_member(text)
    return Relation(type=m.type, name=m.name, doc=m.doc)


def parse_datamodel(source: dict[str, Any] | str | Path, name: str | None = None) -> Datamodel:
    """Parse a datamodel from a YAML/JSON file path, a JSON string or an already loaded dict."""
    if isinstance(source, Path) or (isinstance(source, str) and source.endswith((".yaml", ".yml", ".json"))):
        path = Path(source)
        source = yaml.load(path.read_text(), Loader=_YAML_LOADER)
        name = name or path.stem
    elif isinstance(source, str):
        source = json.loads(source)
    assert isinstance(source, dict)
    if "schema_version" not in source:
        raise ValueError(f"datamodel {name!r} has no schema_version")
    components = {
        k: Component(k, [parse_member(x) for x in v.get("Members", [])], v.get("Description", ""))
        for k, v in (source.get("components") or {}).items()
    }
    datatypes: dict[str, Datatype] = {}
    for k, v in (source.get("datatypes") or {}).items():
        datatypes[k] = Datatype(
            name=k,
            members=[parse_member(x) for x in v.get("Members") or []],
            vector_members=[parse_member(x) for x in v.get("VectorMembers") or []],
            one_to_one=[parse_relation(x) for x in v.get("OneToOneRelations") or []],
            one_to_many=[parse_relation(x) for x in v.get("OneToManyRelations") or []],
            description=v.get("Description", ""),
        )
    for k, v in (source.get("links") or {}).items():
        datatypes[k] = Datatype(
            name=k,
            members=[Member("float", "weight")],
            one_to_one=[Relation(v["From"], "from"), Relation(v["To"], "to")],
            description=v.get("Description", ""),
            link=(v["From"], v["To"]),
        )
    interfaces = {
        k: Interface(k, [parse_member(x) for x in v.get("Members", [])], list(v.get("Types", [])))
        for k, v in (source.get("interfaces") or {}).items()
    }
    if name is None:
        first = next(iter(list(datatypes) + list(components)), "unnamed::x")
        name = first.split("::")[0]
    upstream = source.get("upstream") or []
    if isinstance(upstream, str):
        upstream = [upstream]
    return Datamodel(
        name=name,
        schema_version=int(source["schema_version"]),
        components=components,
        datatypes=datatypes,
        interfaces=interfaces,
        source=source,
        upstream=list(upstream),
    )


def load_builtin_datamodels() -> list[Datamodel]:
    """EDM4hep and the EDM4eic subset shipped with the package, upstream first."""
    return [parse_datamodel(HERE / f) for f in BUILTIN_FILES]
