"""Collection types of a file -> our C++ classes; foreign datamodels; schema differences.

A file names each collection's type (`edm4hep::MCParticleCollection`) and carries the full
definition of every datamodel it uses (`podio_metadata/EDMDefinitions`). Types we know are read
into our classes, with ROOT's member-wise schema evolution bridging schema versions; types of a
datamodel we do not have are compiled from the file's own definition. A file's definition never
replaces a builtin one (same C++ names): only types that no loaded datamodel defines are
compiled, and for EDM4hep (shipped complete) only when the file has our schema version.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from typing import Any

from k4mlinference.datamodel.model import (
    _NUMPY_TYPES,
    Datamodel,
    Datatype,
    Member,
    normalize_type,
    parse_datamodel,
)
from k4mlinference.io.errors import SchemaEvolutionWarning, SkippedCollectionWarning
from k4mlinference.io.metadata import FileMetadata

# Builtin datamodels we ship complete: a type missing from ours comes from another schema release
# and is skipped rather than compiled from the file. (EDM4eic is shipped as a subset, so its other
# types are new to us whatever the file's schema version, and are compiled.)
STRICT_DATAMODELS = {"edm4hep"}

# Types compiled from a file for a datamodel we already have (e.g. EDM4eic beyond our Tensor) form
# a datamodel `<name>_ext_<hash>`; writers merge it back into `<name>` (see base_datamodel_name).
EXTENSION_TAG = "_ext_"

_PARSED: dict[str, Datamodel] = {}  # JSON hash -> parsed file datamodel
_WARNED: set[tuple[str, str]] = set()  # (type, JSON hash): schema warnings given once
_FAILED: dict[str, str] = {}  # datamodel key -> why it could not be compiled


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def base_datamodel_name(name: str) -> str:
    """`edm4eic_ext_1a2b3c4d` -> `edm4eic`; other names unchanged."""
    return name.split(EXTENSION_TAG, 1)[0] if EXTENSION_TAG in name else name


def file_datamodel(md: FileMetadata, name: str) -> Datamodel | None:
    text = md.edm_definitions.get(name)
    if not text:
        return None
    k = _key(text)
    if k not in _PARSED:
        try:
            _PARSED[k] = parse_datamodel(json.loads(text), name=name)
        except Exception as exc:  # noqa: BLE001  (a malformed definition must not stop reading)
            warnings.warn(f"{md.path}: cannot parse the {name!r} datamodel definition in the file: {exc}", stacklevel=3)
            return None
    return _PARSED[k]


def datatype_name(type_name: str) -> str:
    """`edm4hep::MCParticleCollection` -> `edm4hep::MCParticle`."""
    return type_name[: -len("Collection")] if type_name.endswith("Collection") else type_name


def find_file_datatype(md: FileMetadata, type_name: str) -> tuple[Datamodel, Datatype] | None:
    """The file's own definition of a collection type (and its datamodel), if it has one."""
    if type_name.startswith(("podio::UserDataCollection<", "podio::LinkCollection<")):
        if type_name.startswith("podio::LinkCollection<"):
            inner = type_name[len("podio::LinkCollection<") : -1]
            for name in md.edm_definitions:
                dm = file_datamodel(md, name)
                if dm is None:
                    continue
                for dt in dm.datatypes.values():
                    if dt.link and ",".join(dt.link) == inner.replace(" ", ""):
                        return dm, dt
        return None
    want = datatype_name(type_name)
    for name in md.edm_definitions:
        dm = file_datamodel(md, name)
        if dm is not None and want in dm.datatypes:
            return dm, dm.datatypes[want]
    return None


@dataclass
class Resolution:
    cls: Any | None
    reason: str = ""


_CLASSES: dict[str, Any] = {}  # type name -> class (edm.collection_class re-parses the builtin YAML)


def _known_class(type_name: str) -> Any | None:
    from k4mlinference import edm

    cls = _CLASSES.get(type_name)
    if cls is None:
        try:
            cls = _CLASSES[type_name] = edm.collection_class(type_name)
        except KeyError:
            return None
    return cls


def collection_class(md: FileMetadata, type_name: str) -> Resolution:
    """Our class for a file's collection type; compiles a foreign datamodel when needed."""
    cls = _known_class(type_name)
    if cls is not None:
        return Resolution(cls)
    found = find_file_datatype(md, type_name)
    if found is None:
        return Resolution(None, f"type {type_name} is unknown and the file has no definition of it")
    dm, _ = found
    reason = _load_foreign(dm)
    if reason:
        return Resolution(None, f"type {type_name}: {reason}")
    cls = _known_class(type_name)
    if cls is None:
        return Resolution(None, f"type {type_name} is not available after loading the file's {dm.name!r} datamodel")
    return Resolution(cls)


def _load_foreign(dm: Datamodel) -> str:
    """Compile and load the parts of a file's datamodel that no loaded datamodel defines."""
    from k4mlinference import edm
    from k4mlinference.edm import loader

    k = dm.name + ":" + dm.content_hash
    if k in _FAILED:
        return _FAILED[k]
    loaded = loader.loaded()
    known_types = {t for d in loaded.values() for t in d.datatypes}
    known_comps = {c for d in loaded.values() for c in d.components}
    ours = loaded.get(dm.name)
    if ours is not None and ours.schema_version != dm.schema_version and dm.name in STRICT_DATAMODELS:
        _FAILED[k] = (
            f"it belongs to the file's {dm.name!r} datamodel (schema {dm.schema_version}), which differs from the "
            f"builtin {dm.name!r} (schema {ours.schema_version}), which has no such type (only in the file's older or "
            "newer schema); a file's definition never replaces a builtin one"
        )
        return _FAILED[k]
    source = dict(dm.source)
    source["datatypes"] = {n: v for n, v in (source.get("datatypes") or {}).items() if n not in known_types}
    source["links"] = {n: v for n, v in (source.get("links") or {}).items() if n not in known_types}
    source["components"] = {n: v for n, v in (source.get("components") or {}).items() if n not in known_comps}
    source["interfaces"] = {n: v for n, v in (source.get("interfaces") or {}).items() if n not in known_types}
    name = dm.name if ours is None else f"{dm.name}{EXTENSION_TAG}{dm.content_hash[:8]}"
    if name in loaded:
        return ""
    try:
        ext = parse_datamodel(source, name=name)
        ext.upstream = list(loaded)
        loader.load_datamodel(ext, upstream=list(loaded.values()))
        edm.load(extra=[ext])
    except Exception as exc:  # noqa: BLE001  (compiler errors etc.: skip, never crash)
        _FAILED[k] = f"compiling the file's {dm.name!r} datamodel failed: {str(exc)[:500]}"
        return _FAILED[k]
    return ""


# Relations EDM4hep renamed since schema 1 (v00-10): (datatype, our name) -> the old name. They are
# read from the file's branch of the old name when the file's definition has it (and not ours).
RENAMED_RELATIONS = {
    ("edm4hep::SimTrackerHit", "particle"): "MCParticle",
}


# Members EDM4hep renamed since schema 1 (v00-10): (datatype, our name) -> the old name. ROOT drops a
# member whose name changed, so the reader copies the old column into ours after reading (TTree files).
RENAMED_MEMBERS = {
    ("edm4hep::ReconstructedParticle", "PDG"): "type",
    ("edm4hep::SimTrackerHit", "eDep"): "EDep",
    ("edm4hep::Cluster", "iPhi"): "phi",
}


def _renamed(table: dict[tuple[str, str], str], type_name: str, file_names: set[str]) -> dict[str, str]:
    """Our name -> the file's, for the entries of `table` that apply to a file's definition of `type_name`."""
    dt = datatype_name(type_name)
    return {ours: old for (t, ours), old in table.items() if t == dt and ours not in file_names and old in file_names}


def renamed_members(type_name: str, theirs: Datatype | None) -> dict[str, str]:
    """Our member name -> the file's, for the renamed members of a file's definition of `type_name`."""
    return {} if theirs is None else _renamed(RENAMED_MEMBERS, type_name, {m.name for m in theirs.members})


def renamed_relations(type_name: str, theirs: Datatype | None) -> dict[str, str]:
    """Our relation name -> the file's, for the renamed relations of a file's definition of `type_name`."""
    return {} if theirs is None else _renamed(RENAMED_RELATIONS, type_name, {r.name for r in theirs.relations})


def _names(items: list[Any]) -> dict[str, str]:
    return {m.name: m.type for m in items}


def schema_differences(ours: Datatype, theirs: Datatype, lost: dict[str, str] | None = None) -> list[str]:
    """Human-readable differences between our datatype and a file's definition of it.

    `lost` (member -> description) are type changes ROOT cannot convert (see `member_conversions`).
    """
    lost = lost or {}
    out = []
    renamed = renamed_relations(ours.name, theirs)
    if renamed:
        out.append("relations renamed (read): " + ", ".join(f"{old} -> {new}" for new, old in renamed.items()))
    moved = renamed_members(ours.name, theirs)
    if moved:
        out.append("members renamed (read from TTree files): " + ", ".join(f"{o} -> {n}" for n, o in moved.items()))
        theirs = Datatype(
            theirs.name,
            [Member(m.type, {o: n for n, o in moved.items()}.get(m.name, m.name)) for m in theirs.members],
            theirs.vector_members,
            theirs.one_to_one,
            theirs.one_to_many,
        )
    to_ours = {old: new for new, old in renamed.items()}
    their_rels = {to_ours.get(n, n): t for n, t in _names(theirs.relations).items()}
    for what, a, b in (
        ("members", _names(ours.members), _names(theirs.members)),
        ("vector members", _names(ours.vector_members), _names(theirs.vector_members)),
        ("relations", _names(ours.relations), their_rels),
    ):
        only_file = [n for n in b if n not in a]
        only_ours = [n for n in a if n not in b]
        changed = [f"{n} ({b[n]} -> {a[n]})" for n in a if n in b and a[n] != b[n] and n not in lost]
        if only_file:
            out.append(f"{what} in the file but not in ours (dropped): {', '.join(only_file)}")
        if only_ours:
            out.append(f"{what} of ours not in the file (left at default/empty): {', '.join(only_ours)}")
        if changed:
            out.append(f"{what} with another type (converted): {', '.join(changed)}")
    if lost:
        out.append(
            "members whose type ROOT cannot convert (left at default): "
            + ", ".join(f"{n} ({d})" for n, d in lost.items())
        )
    return out


@dataclass
class Conversions:
    """How the members of a file's datatype that changed type reach ours.

    ROOT converts builtin members (int32 -> uint64, float -> double). A member whose component type
    changed (schema 1's `Vector3f momentum` -> `Vector3d momentum`) is read by ROOT sub-member by
    sub-member at our offsets but with the file's types and no conversion: a float lands in the low
    4 bytes of our (zeroed) double. `widen` lists those float -> double sub-members ('momentum.x');
    the reader turns them back into the float's value after each read. `lost` names the changes
    ROOT cannot bridge at all (arrays <-> components, other sub-member type changes): those members
    keep their default value.
    """

    widen: list[str]
    lost: dict[str, str]


def _member_map(items: list[Any]) -> dict[str, str]:
    return {m.name: normalize_type(m.type) for m in items}


def member_conversions(md: FileMetadata, type_name: str, ours: Datatype | None) -> Conversions:
    """The member type changes between a file's definition of `type_name` and ours."""
    from k4mlinference.edm import loader

    conv = Conversions([], {})
    found = find_file_datatype(md, type_name)
    if ours is None or ours.link or found is None:
        return conv
    dm, theirs = found
    our_comps = {n: c for d in loader.loaded().values() for n, c in d.components.items()}
    their_comps = dm.components

    def compare(prefix: str, a: dict[str, str], b: dict[str, str], top: str) -> None:
        for name, ours_t in a.items():
            file_t = b.get(name)
            if file_t is None or file_t == ours_t:
                continue
            path = prefix + name
            if ours_t in _NUMPY_TYPES and file_t in _NUMPY_TYPES:
                if prefix:  # inside a component: read with the file's type at our offset
                    if (file_t, ours_t) == ("float", "double"):
                        conv.widen.append(path)
                    else:
                        conv.lost[top] = f"{path}: {file_t} -> {ours_t} inside a component"
                continue  # a builtin member: ROOT converts it
            if ours_t in our_comps and file_t in their_comps:
                compare(
                    path + ".",
                    _member_map(our_comps[ours_t].members),
                    _member_map(their_comps[file_t].members),
                    top,
                )
            else:
                conv.lost[top] = f"{file_t} -> {ours_t}"

    for m in ours.members:
        compare("", {m.name: normalize_type(m.type)}, _member_map(theirs.members), m.name)
    # a member with any unconvertible part is not partially fixed
    conv.widen = [p for p in conv.widen if p.split(".", 1)[0] not in conv.lost]
    # vector members (their own branches): changed components are only reported, not fixed
    data_widen, conv.widen = conv.widen, []
    for m in ours.vector_members:
        t = normalize_type(m.type)
        if t in our_comps:
            compare("", {m.name: t}, _member_map(theirs.vector_members), m.name)
    for p in conv.widen:
        conv.lost.setdefault(p.split(".", 1)[0], f"{p}: float -> double inside a vector member")
    conv.widen = data_widen
    return conv


def check_schema(
    md: FileMetadata, type_name: str, ours: Datatype | None, conv: Conversions | None = None, collection: str = ""
) -> None:
    """Warn once per collection type when the file's definition differs from ours (naming the first collection)."""
    if ours is None or ours.link:
        return
    found = find_file_datatype(md, type_name)
    if found is None:
        return
    dm, theirs = found
    key = (type_name, dm.content_hash)
    if key in _WARNED:
        return
    _WARNED.add(key)
    diffs = schema_differences(ours, theirs, conv.lost if conv else None)
    if diffs:
        warnings.warn(
            f"{md.path}: {ours.name} {f'(collection {collection!r}) ' if collection else ''}was written with "
            f"{dm.name} schema {dm.schema_version}; " + "; ".join(diffs),
            SchemaEvolutionWarning,
            stacklevel=5,  # the user's frame.get()
        )


def widen_floats(coll: Any, paths: list[str]) -> None:
    """Turn floats that ROOT left in the low 4 bytes of our doubles into their value (see Conversions).

    A double whose high 32 bits are zero is +0.0 or a denormal, which no float converts to; so a
    value ROOT did convert is never touched.
    """
    import numpy as np

    view = coll.data_view()
    try:
        for path in paths:
            col = view
            for p in path.split("."):
                col = col[p]
            raw = col.view(np.uint64)
            mask = (raw >> np.uint64(32)) == 0
            if mask.any():
                col[mask] = (raw[mask] & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(np.float32)
    finally:
        del view


def warn_skipped(path: str, category: str, skipped: dict[str, str]) -> None:
    if skipped:
        lines = "; ".join(f"{n}: {why}" for n, why in skipped.items())
        warnings.warn(
            f"{path}: skipping {len(skipped)} collection(s) of category {category!r} that cannot be read: {lines}",
            SkippedCollectionWarning,
            stacklevel=4,
        )
