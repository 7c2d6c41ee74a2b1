"""Reader for podio Frame files (TTree and RNTuple backends, podio 0.16 to 1.x).

    from k4mlinference.io import Reader
    reader = Reader("events.root")              # or a list of files, read as one stream
    for frame in reader.get("events"):          # len(...) and [i] work too
        mcps = frame.get("MCParticles")         # read from the file on first access
        px = mcps.view("momentum.x")            # numpy over the collection, no copy

Collections are read lazily: a frame reads a collection the first time it is asked for (or the
first time a relation points into it), straight into the collection's own vectors through
ROOT (see cpp/include/k4ml/io/root_io.h). Subset collections are read as
`k4ml::SubsetCollection` (references only); their elements resolve through the frame, which reads
the collections they point into on demand. Everything that depends on the file's podio version
or schema is worked out once per file and collection name, so the per-event cost is a few calls.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from k4mlinference.edm.frame import Frame
from k4mlinference.edm.lifetime import hand_to_cpp, never_delete
from k4mlinference.io import datamodels, lazy_relations
from k4mlinference.io.errors import PodioFileError
from k4mlinference.io.evolution import Evolution, OldColumns, renamed_relations
from k4mlinference.io.metadata import CollectionInfo, FileMetadata, read_ntuple_metadata, read_tree_metadata
from k4mlinference.io.native import cppyy_io
from k4mlinference.io.typenames import is_url, ntuple_vector_type


def _open_root_file(path: str) -> Any:
    """TFile::Open (local paths and URLs such as root://), with errors that name the file."""
    import ROOT

    if not is_url(path):
        p = Path(path)
        if not p.exists():
            raise PodioFileError(path, "no such file")
        if p.is_dir():
            raise PodioFileError(path, "is a directory, not a ROOT file")
        with open(p, "rb") as fh:
            if fh.read(4) != b"root":
                raise PodioFileError(path, "not a ROOT file (no ROOT header)")
    old = ROOT.gErrorIgnoreLevel
    ROOT.gErrorIgnoreLevel = ROOT.kBreak  # ROOT's own messages would duplicate ours
    try:
        f = ROOT.TFile.Open(path, "READ")
    except OSError:  # the ROOT pythonization raises on failure
        f = None
    finally:
        ROOT.gErrorIgnoreLevel = old
    if not f or f.IsZombie():
        raise PodioFileError(path, "cannot be opened as a ROOT file (corrupt, truncated or unreachable)")
    if f.TestBit(ROOT.TFile.kRecovered):
        f.Close()
        raise PodioFileError(path, "is truncated or was not closed properly (ROOT had to recover its keys)")
    return f


def cpp_message(exc: BaseException) -> str:
    """The C++ exception's own text, without cppyy's signature prefix."""
    text = str(exc)
    return text.rsplit("=>", 1)[-1].strip().removeprefix("runtime_error: ").strip()


def _value(x: Any) -> Any:
    return x.decode() if isinstance(x, bytes) else x


def parameters_to_dict(p: Any) -> dict[str, Any]:
    """k4ml::io::Parameters -> {key: value}; one-element vectors become scalars (podio's Python).

    float parameters come back as numpy.float32, so that writing the frame again keeps them float
    (a Python float is written as double).
    """

    out: dict[str, Any] = {}
    for keys, values, conv in (
        (p.intKeys, p.intValues, int),
        (p.floatKeys, p.floatValues, np.float32),
        (p.doubleKeys, p.doubleValues, float),
        (p.stringKeys, p.stringValues, lambda s: str(_value(s))),
    ):
        for k, v in zip(keys, values):
            vals = [conv(x) for x in v]
            out[str(_value(k))] = vals[0] if len(vals) == 1 else vals
    return out


def _subset_factory(md: FileMetadata, info: CollectionInfo) -> Any:
    """Makes empty subset collections of `info`'s type. The type names come from our class of that
    type when there is one; a subset's references can be read even when its type cannot."""
    from k4mlinference.edm import subset

    res = datamodels.collection_class(md, info.type_name)
    if res.cls is not None:
        proto = res.cls()
        names = (str(proto.getValueTypeName()), str(proto.getDataTypeName()), int(proto.getSchemaVersion()))
    else:
        value = datamodels.datatype_name(info.type_name)
        names = (value, value + "Data", int(info.schema_version or 0))
    return lambda: subset.make(info.type_name, *names)


class _CollectionPlan:
    """How one collection of one file category is read (decided once)."""

    def __init__(self, info: CollectionInfo, cls: Any, slot: int, evolution: Evolution | None = None) -> None:
        self.info = info
        self.cls = cls
        self.slot = slot
        self.evolution = evolution  # what to fix after ROOT read it (older schemas), or None


class _Source:
    """One open file: metadata, per-category C++ readers, per-collection read plans."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.io = cppyy_io()
        self.file = _open_root_file(path)
        kind = str(self.io.keyClass(self.file, "podio_metadata"))
        if kind.startswith("ROOT::Experimental::RNTuple"):
            raise PodioFileError(
                path,
                "holds a pre-1.0 experimental RNTuple (ROOT::Experimental::RNTuple, written by ROOT before 6.34), "
                "which this ROOT cannot read; rewrite it with the ROOT that wrote it (or as a TTree)",
            )
        if kind == "TTree":
            self.md: FileMetadata = read_tree_metadata(path, self.file)
        elif "RNTuple" in kind:
            self.md = read_ntuple_metadata(path, self.file, self.io)
        elif kind:
            raise PodioFileError(path, f"podio_metadata is a {kind}, neither a TTree nor an RNTuple")
        else:
            keys = [k.GetName() for k in self.file.GetListOfKeys()]
            if "metadata" in keys and "events" in keys and "podio_metadata" not in keys:
                raise PodioFileError(path, "is a pre-Frame podio file (podio < 0.16 EventStore layout): not supported")
            raise PodioFileError(path, f"not a podio file: no podio_metadata (keys: {', '.join(keys) or 'none'})")
        self._readers: dict[str, Any] = {}
        self._plans: dict[tuple[str, str], _CollectionPlan | str] = {}
        self._branch_names: dict[str, set[str]] = {}
        self._entries: dict[str, int] = {}
        self.old_columns = OldColumns(path)

    # ---------------------------------------------------------------- categories
    @property
    def categories(self) -> list[str]:
        return list(self.md.categories)

    def collection_infos(self, category: str) -> list[CollectionInfo]:
        return self.md.categories.get(category, [])

    def reader(self, category: str) -> Any:
        r = self._readers.get(category)
        if r is None:
            if self.file is None:
                raise PodioFileError(self.path, "the Reader was closed; frames cannot read from it any more")
            if self.md.backend == "TTree":
                tree = self.file.Get(category)
                if not tree:
                    raise PodioFileError(
                        self.path,
                        f"category {category!r} is listed in podio_metadata but its tree is missing or unreadable (corrupt file?)",
                    )
                r = self.io.TreeCategoryReader(tree)
                self._branch_names[category] = {b.GetName() for b in tree.GetListOfBranches()}
            else:
                try:
                    r = self.io.NTupleCategoryReader(self.file, category)
                except Exception as exc:  # noqa: BLE001
                    raise PodioFileError(
                        self.path, f"cannot open the RNTuple of category {category!r}: {cpp_message(exc)}"
                    ) from None
                self._branch_names[category] = {str(f) for f in r.fields()}
            self._readers[category] = r
        return r

    def entries(self, category: str) -> int:
        if category not in self._entries:
            self._entries[category] = int(self.reader(category).entries()) if category in self.md.categories else 0
        return self._entries[category]

    # ---------------------------------------------------------------- collections
    def plan(self, category: str, info: CollectionInfo) -> _CollectionPlan | str:
        """The read plan of a collection, or the reason it cannot be read."""
        key = (category, info.name)
        if key not in self._plans:
            self._plans[key] = self._make_plan(category, info)
        return self._plans[key]

    def _make_plan(self, category: str, info: CollectionInfo) -> _CollectionPlan | str:
        if info.is_subset:
            return self._make_subset_plan(category, info)
        res = datamodels.collection_class(self.md, info.type_name)
        if res.cls is None:
            return res.reason
        cls = res.cls
        proto = cls()
        from k4mlinference.edm import pythonize

        ti = pythonize.TYPES.get(type(proto).__cpp_name__)
        ours = ti.datatype if ti else None
        reader = self.reader(category)
        branches = self._branch_names[category]
        rel_names = [str(n) for n in proto.relationNames()]
        vec_names = [str(n) for n in proto.vectorMemberNames()]
        rels, vecs = self._branch_names_for(info, rel_names, vec_names, branches)
        if info.name not in branches:
            return f"the file has no branch {info.name!r} for it"
        old_link = self._is_old_link(reader, info.name, ours)
        try:
            if self.md.backend == "TTree":
                slot = reader.addCollection("" if old_link else info.name, rels, vecs, proto)
            else:
                vec_types = [ntuple_vector_type(str(t)) for t in proto.vectorMemberTypes()]
                data_type = ntuple_vector_type(str(proto.getDataTypeName()))
                slot = reader.addCollection(info.name, data_type, rels, vecs, vec_types, proto)
        except Exception as exc:  # noqa: BLE001  (type mismatch between file and our classes)
            raise PodioFileError(
                self.path, f"collection {info.name!r} ({info.type_name}) cannot be read: {cpp_message(exc)}"
            ) from None
        missing = [n for n, b in zip(rel_names, rels) if not b]
        evolution = Evolution.plan(
            self.md, info.type_name, info.name, ours, missing, self.md.backend == "TTree", old_link
        )
        return _CollectionPlan(info, cls, int(slot), evolution if evolution != Evolution() else None)

    def _is_old_link(self, reader: Any, branch: str, ours: Any) -> bool:
        """A link the file stores as a generated datatype (EDM4hep 0.99: `vector<edm4hep::XLinkData>`),
        whose class ROOT cannot read into our `podio::LinkData` (see evolution.Evolution)."""
        if ours is None or not ours.link or self.md.backend != "TTree":
            return False
        br = reader.tree().GetBranch(branch)
        held = str(br.GetClassName()).replace(" ", "") if br else ""
        return held.startswith("vector<") and held.endswith("LinkData>") and held != "vector<podio::LinkData>"

    def _make_subset_plan(self, category: str, info: CollectionInfo) -> _CollectionPlan | str:
        """A subset collection: one `vector<podio::ObjectID>` branch/field, `C_objIdx` (podio < 0.17: `C#0`)."""
        factory = _subset_factory(self.md, info)
        reader = self.reader(category)
        branch = f"{info.name}#0" if self.md.index_based_names else f"{info.name}_objIdx"
        if branch not in self._branch_names[category]:
            return f"the file has no branch {branch!r} for this subset collection"
        proto = factory()
        try:
            if self.md.backend == "TTree":
                slot = reader.addCollection(branch, [], [], proto)
            else:
                slot = reader.addCollection(branch, "std::vector<podio::ObjectID>", [], [], [], proto)
        except Exception as exc:  # noqa: BLE001
            raise PodioFileError(
                self.path, f"subset collection {info.name!r} ({info.type_name}) cannot be read: {cpp_message(exc)}"
            ) from None
        return _CollectionPlan(info, factory, int(slot))

    def _branch_names_for(
        self, info: CollectionInfo, rel_names: list[str], vec_names: list[str], branches: set[str]
    ) -> tuple[list[str], list[str]]:
        """Branch of each of our relations/vector members ("" where the file has none)."""
        name = info.name
        found = datamodels.find_file_datatype(self.md, info.type_name)
        # our relation name -> the file's (relations EDM4hep renamed since schema 1)
        renamed = renamed_relations(info.type_name, found[1] if found else None)
        if self.md.index_based_names:
            # podio < 0.17: `C#i` / `C_i` in the file's own order of relations / vector members
            file_rels = [r.name for r in found[1].relations] if found else rel_names
            file_vecs = [m.name for m in found[1].vector_members] if found else vec_names
            rels = [renamed.get(r, r) for r in rel_names]
            rels = [f"{name}#{file_rels.index(r)}" if r in file_rels else "" for r in rels]
            vecs = [f"{name}_{file_vecs.index(v)}" if v in file_vecs else "" for v in vec_names]
        else:
            rels = [f"_{name}_{renamed.get(r, r)}" for r in rel_names]
            vecs = [f"_{name}_{v}" for v in vec_names]
        rels = [b if b in branches else "" for b in rels]
        vecs = [b if b in branches else "" for b in vecs]
        return rels, vecs

    def read_collection(self, category: str, plan: _CollectionPlan, entry: int) -> Any:
        coll = plan.cls()
        reader = self._readers.get(category)
        if reader is None:
            raise PodioFileError(self.path, "the Reader was closed; frames cannot read from it any more")
        try:
            reader.read(plan.slot, entry, coll)
        except Exception as exc:  # noqa: BLE001
            import cppyy.ll

            if isinstance(exc, cppyy.ll.FatalError):  # a crash caught inside ROOT (see io.native)
                never_delete(coll)  # its vectors may be half-built: freeing them could crash
            raise PodioFileError(
                self.path,
                f"reading collection {plan.info.name!r} of entry {entry} of {category!r} failed "
                f"(corrupt or truncated file?): {cpp_message(exc)}",
            ) from None
        if plan.evolution is not None:
            plan.evolution.apply(coll, self.old_columns, category, plan.info.name, entry)
        return coll

    def parameters(self, category: str, entry: int) -> dict[str, Any]:
        try:
            p = self.reader(category).readParameters(entry)
        except Exception as exc:  # noqa: BLE001
            raise PodioFileError(
                self.path, f"reading the parameters of entry {entry} of {category!r} failed: {cpp_message(exc)}"
            ) from None
        return parameters_to_dict(p)

    def close(self) -> None:
        for r in self._readers.values():
            if hasattr(r, "release"):
                r.release()
        self._readers.clear()
        self._plans = {k: "the Reader was closed" for k in self._plans}
        if self.file:
            self.file.Close()
            self.file = None


# ------------------------------------------------------------------------------ lazy frames
class _Part:
    """One file's share of a category, as offered to frames (shared by all its frames)."""

    def __init__(self, source: _Source, category: str, entries: int, available: dict[str, CollectionInfo]) -> None:
        self.source = source
        self.category = category
        self.entries = entries
        self.available = available
        self.names_by_id = {i.id: n for n, i in available.items()}
        self.store_class = source.io.LazyCollectionStore


class ReadFrame(Frame):
    """A Frame backed by one entry of a file: collections and parameters are read on demand.

    Frame.__init__ is not called: its C++ store is replaced by one that can read collections
    that relations point to, and the per-event cost of building a frame matters.
    """

    def __init__(self, part: _Part, entry: int) -> None:
        self._colls: dict[str, Any] = {}
        self._ids: dict[int, str] = {}
        self._params: dict[str, Any] | None = None
        self._removed: set[str] = set()
        self._part = part
        self._entry = entry
        store = self._store = hand_to_cpp(part.store_class(), "resolver")
        store.token = self._token = lazy_relations.register(self)

    # collections ------------------------------------------------------------
    def get(self, name: str) -> Any:
        coll = self._colls.get(name)
        if coll is not None:
            return coll
        part = self._part
        info = part.available.get(name)
        if info is None or name in self._removed:
            avail = ", ".join(self.getAvailableCollections()) or "(none)"
            raise KeyError(f"no collection {name!r} in this frame of {part.source.path}; available: {avail}")
        src = part.source
        plan = src.plan(part.category, info)
        if isinstance(plan, str):
            raise PodioFileError(src.path, f"collection {name!r} ({info.type_name}) cannot be read: {plan}")
        coll = src.read_collection(part.category, plan, self._entry)
        coll.setID(info.id)
        self._adopt(coll, name, info.id)
        return coll

    def collection_by_id(self, coll_id: int) -> Any | None:
        """The collection with podio ID `coll_id`, read from the file if needed; None if unknown."""
        name = self._ids.get(int(coll_id))
        if name is None:
            name = self._part.names_by_id.get(int(coll_id))
            if name is None or name in self._removed:
                return None
        return self.get(name)

    def getAvailableCollections(self) -> list[str]:
        """The file's collections (read or not) and those put into this frame since."""
        names = [n for n in self._part.available if n not in self._removed]
        return names + [n for n in self._colls if n not in self._part.available]

    def __contains__(self, name: str) -> bool:
        return name in self._colls or (name in self._part.available and name not in self._removed)

    def items(self):
        for name in self.getAvailableCollections():
            self.get(name)
        return self._colls.items()

    def put(self, collection: Any, name: str) -> Any:
        if name in self._part.available and name not in self._removed:
            raise KeyError(f"Frame already holds a collection named {name!r} (from {self._part.source.path})")
        self._removed.discard(name)
        return super().put(collection, name)

    def remove(self, name: str) -> Any:
        coll = self.get(name)
        super().remove(name)
        self._removed.add(name)
        return coll

    def collection_type(self, name: str) -> str:
        """The podio type name of a collection (from the file's metadata: without reading it)."""
        info = self._part.available.get(name)
        if info is not None and name not in self._removed:
            return info.type_name
        return super().collection_type(name)

    # parameters ------------------------------------------------------------------
    @property
    def parameters(self) -> dict[str, Any]:  # type: ignore[override]
        if self._params is None:
            self._params = self._part.source.parameters(self._part.category, self._entry)
        return self._params

    @parameters.setter
    def parameters(self, value: dict[str, Any]) -> None:
        self._params = dict(value)

    @property
    def entry(self) -> int:
        """Entry number within its file."""
        return self._entry

    @property
    def path(self) -> str:
        return self._part.source.path

    def __repr__(self) -> str:
        return (
            f"<ReadFrame {self._part.category}[{self._entry}] of {self._part.source.path}: "
            f"{len(self._part.available)} collections, {len(self._colls)} read>"
        )


class FrameSequence(Sequence):
    """The frames of one category, across all files of a Reader: `len`, index, iteration."""

    def __init__(self, reader: Reader, category: str, collections: list[str] | None) -> None:
        self._reader = reader
        self._category = category
        self._parts: list[_Part] = []
        for src in reader._sources:
            n = src.entries(category)
            if not n:
                continue
            infos = {i.name: i for i in src.collection_infos(category)}
            readable, skipped = self._readable(src, infos)
            datamodels.warn_skipped(src.path, category, skipped)
            if collections is not None:
                missing = [c for c in collections if c not in infos]
                if missing:
                    raise KeyError(
                        f"{src.path}: no collection(s) {', '.join(map(repr, missing))} in category {category!r}; "
                        f"available: {', '.join(infos) or '(none)'}"
                    )
                readable = {c: readable[c] for c in collections if c in readable}
                bad = [c for c in collections if c not in readable]
                if bad:
                    raise PodioFileError(
                        src.path,
                        f"requested collection(s) cannot be read: {'; '.join(f'{c}: {skipped[c]}' for c in bad)}",
                    )
            self._parts.append(_Part(src, category, n, readable))
        self._len = sum(p.entries for p in self._parts)

    @staticmethod
    def _readable(src: _Source, infos: dict[str, CollectionInfo]) -> tuple[dict[str, CollectionInfo], dict[str, str]]:
        """Collections we have a class for; the others with the reason (checked without reading)."""
        readable, skipped = {}, {}
        for name, info in infos.items():
            if info.is_subset:  # only references: readable whatever the type
                readable[name] = info
                continue
            res = datamodels.collection_class(src.md, info.type_name)
            if res.cls is None:
                skipped[name] = res.reason
            else:
                readable[name] = info
        return readable, skipped

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, i: int) -> ReadFrame:  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._len))]  # type: ignore[return-value]
        n = self._len
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"frame {i} out of range: category {self._category!r} has {n} entries")
        for part in self._parts:
            if i < part.entries:
                return ReadFrame(part, i)
            i -= part.entries
        raise IndexError(i)  # pragma: no cover

    def __iter__(self) -> Iterator[ReadFrame]:
        for part in self._parts:
            for i in range(part.entries):
                yield ReadFrame(part, i)

    def __repr__(self) -> str:
        return f"<FrameSequence {self._category!r}: {self._len} frames>"


class Reader:
    """podio-style reader over one file or a list of files read as one stream."""

    def __init__(self, paths: str | os.PathLike | Sequence[str | os.PathLike]) -> None:
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        self.paths = [os.fspath(p) for p in paths]
        if not self.paths:
            raise ValueError("Reader needs at least one file")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the alpha ROOT wheel warns on import
            import ROOT  # noqa: F401
        lazy_relations.install(cppyy_io())
        self._sources: list[_Source] = []
        try:
            for p in self.paths:
                self._sources.append(_Source(p))
        except BaseException:
            self.close()
            raise

    @property
    def categories(self) -> list[str]:
        """Category names (`events`, `runs`, `metadata`, ...) in file order, over all files."""
        out: list[str] = []
        for s in self._sources:
            out += [c for c in s.categories if c not in out]
        return out

    def getAvailableCategories(self) -> list[str]:
        """podio's spelling of `categories`."""
        return self.categories

    def get(self, category: str, collections: Sequence[str] | None = None) -> FrameSequence:
        """The frames of `category`; `collections` limits what the frames offer (and read)."""
        if category not in self.categories:
            raise KeyError(
                f"no category {category!r} in {', '.join(self.paths)}; available: {', '.join(self.categories)}"
            )
        return FrameSequence(self, category, list(collections) if collections is not None else None)

    def getEntries(self, category: str) -> int:
        return sum(s.entries(category) for s in self._sources)

    def read_frame(self, category: str, entry: int) -> ReadFrame:
        return self.get(category)[entry]

    @property
    def metadata(self) -> list[FileMetadata]:
        """Parsed podio_metadata of each file (podio version, datamodel definitions, IDs, types)."""
        return [s.md for s in self._sources]

    @property
    def podio_version(self) -> tuple[int, int, int]:
        return self._sources[0].md.podio_version

    def datamodel_definition(self, name: str) -> str:
        """The JSON definition of datamodel `name` stored in the (first) file."""
        return self._sources[0].md.edm_definitions[name]

    get_datamodel_definition = datamodel_definition  # podio's Python Reader spells it so

    def close(self) -> None:
        for s in getattr(self, "_sources", []):
            s.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Reader {', '.join(self.paths)}: {', '.join(self.categories)}>"
