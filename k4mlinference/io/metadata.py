"""The `podio_metadata` of a podio file: categories, collection IDs and types, datamodels.

podio changed this layout several times (see shared docs, podio file layout §1.5):
- >= 1.3: `<cat>___CollectionTypeInfo` is a vector of `CollectionWriteInfo` structs that carry
  the collection name; there is no separate ID table.
- 0.16.4 - 1.2: a vector of tuples (ID, type, isSubset, schemaVersion) plus `<cat>___idTable`
  (ID -> name), which must be joined on the ID (the two are in different orders).
- < 0.16.4: tuples without a schema version.
RNTuple files keep the >= 1.3 struct and store versions as vector<uint16_t>.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from k4mlinference.io.errors import PodioFileError

INFO_SUFFIX = "___CollectionTypeInfo"
IDTABLE_SUFFIX = "___idTable"
VERSION_SUFFIX = "___Version"


@dataclass
class CollectionInfo:
    """What the metadata says about one collection of a category."""

    name: str
    id: int
    type_name: str  # podio collection type, e.g. edm4hep::MCParticleCollection
    is_subset: bool = False
    schema_version: int | None = None
    storage_type: str | None = None


@dataclass
class FileMetadata:
    path: str
    backend: str  # "TTree" or "RNTuple"
    podio_version: tuple[int, int, int]
    categories: dict[str, list[CollectionInfo]] = field(default_factory=dict)
    edm_definitions: dict[str, str] = field(default_factory=dict)  # datamodel name -> JSON
    datamodel_versions: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    @property
    def index_based_names(self) -> bool:
        """podio < 0.17 named relation/vector branches `C#i` / `C_i` (cut at 0.16.99)."""
        return self.podio_version < (0, 16, 99)

    @property
    def legacy_parameters(self) -> bool:
        """podio < 1.0 stored frame parameters in one `PARAMETERS` branch."""
        return self.podio_version < (0, 99, 99)

    def datamodel_json(self, name: str) -> dict[str, Any] | None:
        text = self.edm_definitions.get(name)
        return json.loads(text) if text else None


def _s(x: Any) -> str:
    """cppyy gives std::string inside containers as bytes in some places."""
    if isinstance(x, bytes):
        return x.decode()
    return str(x)


def _version(v: Any) -> tuple[int, int, int]:
    return (int(v.major), int(v.minor), int(v.patch))


def read_tree_metadata(path: str, tfile: Any) -> FileMetadata:
    """Parse a TTree file's `podio_metadata` (any podio >= 0.16 layout)."""
    import cppyy

    tree = tfile.Get("podio_metadata")
    if not tree or tree.GetEntries() < 1:
        raise PodioFileError(path, "podio_metadata tree is empty or unreadable (truncated file?)")
    if tree.GetEntry(0) <= 0:
        raise PodioFileError(path, "cannot read the entry of podio_metadata (truncated or corrupt file)")
    branches = [b.GetName() for b in tree.GetListOfBranches()]
    version = _version(tree.PodioBuildVersion) if "PodioBuildVersion" in branches else (0, 16, 0)
    md = FileMetadata(path=path, backend="TTree", podio_version=version)
    if "EDMDefinitions" in branches:
        for t in tree.EDMDefinitions:
            md.edm_definitions[_s(cppyy.gbl.std.get[0](t))] = _s(cppyy.gbl.std.get[1](t))
    for b in branches:
        if b.endswith(VERSION_SUFFIX):
            md.datamodel_versions[b[: -len(VERSION_SUFFIX)]] = _version(getattr(tree, b))
    for b in branches:
        if not b.endswith(INFO_SUFFIX):
            continue
        cat = b[: -len(INFO_SUFFIX)]
        infos = getattr(tree, b)
        names: dict[int, str] = {}
        if cat + IDTABLE_SUFFIX in branches:
            table = getattr(tree, cat + IDTABLE_SUFFIX)
            names = {int(i) & 0xFFFFFFFF: _s(n) for i, n in zip(table.m_collectionIDs, table.m_names)}
        colls = []
        for e in infos:
            if hasattr(e, "dataType"):  # CollectionWriteInfo (>= 1.3)
                colls.append(_from_write_info(e))
            else:  # tuple layout
                get = cppyy.gbl.std.get
                cid = int(get[0](e)) & 0xFFFFFFFF
                try:
                    schema = int(get[3](e))
                except Exception:  # noqa: BLE001  (pre-0.16.4: no schema version)
                    schema = None
                if cid not in names:
                    raise PodioFileError(
                        path, f"collection ID {cid:#x} of category {cat!r} is not in {cat}{IDTABLE_SUFFIX}"
                    )
                colls.append(CollectionInfo(names[cid], cid, _s(get[1](e)), bool(get[2](e)), schema))
        md.categories[cat] = colls
    return md


def read_ntuple_metadata(path: str, tfile: Any, io: Any) -> FileMetadata:
    """Parse an RNTuple file's `podio_metadata` (through the C++ helper)."""
    try:
        raw = io.readNTupleMetadata(tfile)
    except Exception as exc:  # noqa: BLE001  (cppyy re-raises C++ exceptions)
        raise PodioFileError(
            path, f"cannot read the podio_metadata RNTuple: {str(exc).rsplit('=>', 1)[-1].strip()}"
        ) from None
    pv = [int(x) for x in raw.podioVersion]
    md = FileMetadata(path=path, backend="RNTuple", podio_version=tuple((pv + [0, 0, 0])[:3]))  # type: ignore[arg-type]
    for t in raw.edmDefinitions:
        import cppyy

        md.edm_definitions[_s(cppyy.gbl.std.get[0](t))] = _s(cppyy.gbl.std.get[1](t))
    for kv in raw.datamodelVersions:
        v = [int(x) for x in kv.second]
        md.datamodel_versions[_s(kv.first)] = tuple((v + [0, 0, 0])[:3])  # type: ignore[assignment]
    order = [_s(c) for c in raw.categories]
    infos = {_s(kv.first): kv.second for kv in raw.typeInfo}
    for cat in order + [c for c in infos if c not in order]:
        md.categories[cat] = [_from_write_info(e) for e in infos.get(cat, [])]
    return md


def _from_write_info(e: Any) -> CollectionInfo:
    """A podio::root_utils::CollectionWriteInfo (podio >= 1.3) as CollectionInfo."""
    return CollectionInfo(
        name=_s(e.name),
        id=int(e.collectionID),
        type_name=_s(e.dataType),
        is_subset=bool(e.isSubset),
        schema_version=int(e.schemaVersion),
        storage_type=_s(e.storageType),
    )
