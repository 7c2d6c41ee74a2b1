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
    Datamodel,
    Datatype,
    parse_datamodel,
)
from k4mlinference.io.errors import SkippedCollectionWarning
from k4mlinference.io.metadata import FileMetadata

# Builtin datamodels we ship complete: a type missing from ours comes from another schema release
# and is skipped rather than compiled from the file. (EDM4eic is shipped as a subset, so its other
# types are new to us whatever the file's schema version, and are compiled.)
STRICT_DATAMODELS = {"edm4hep"}

# Types compiled from a file for a datamodel we already have (e.g. EDM4eic beyond our Tensor) form
# a datamodel `<name>_ext_<hash>`; writers merge it back into `<name>` (see base_datamodel_name).
EXTENSION_TAG = "_ext_"

_PARSED: dict[str, Datamodel] = {}  # JSON hash -> parsed file datamodel
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


def warn_skipped(path: str, category: str, skipped: dict[str, str]) -> None:
    if skipped:
        lines = "; ".join(f"{n}: {why}" for n, why in skipped.items())
        warnings.warn(
            f"{path}: skipping {len(skipped)} collection(s) of category {category!r} that cannot be read: {lines}",
            SkippedCollectionWarning,
            stacklevel=4,
        )
