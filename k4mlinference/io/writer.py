"""Writer for podio's Frame layout in ROOT files (the layout of podio >= 1.3; TTree or RNTuple).

    with Writer("out.root") as w:
        for frame in frames:
            w.write_frame(frame, "events")

What it writes, per category: one tree named after the category, collection branches in
case-insensitive alphabetical order (data `vector<XData>`, then `_C_<relation>` and
`_C_<vectorMember>`; a subset collection only `C_objIdx`, its references), then the 8 GP*
parameter branches; split level 99. At finish:
`podio_metadata` with `<cat>___CollectionTypeInfo` (vector of CollectionWriteInfo),
`PodioBuildVersion` = PODIO_VERSION, `EDMDefinitions` (our datamodels as JSON) and
`edm4hep___Version`.

`Writer(path, backend="rntuple")` writes podio's RNTuple layout instead: one RNTuple per category
with fields named like the branches above (typed `std::vector<...>`) and an RNTuple
`podio_metadata` (versions as `vector<uint16_t>`, plus `availableCategories`).

Safety: the file is written under a temporary name in the target directory and renamed to
the final name only by finish(), so a run that dies leaves no file under the final name.
URLs (root://...) are written in place, as a rename is not possible there.
"""

from __future__ import annotations

import json
import os
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from k4mlinference.edm.frame import parameter_values
from k4mlinference.io.errors import PodioFileError
from k4mlinference.io.native import cppyy_io
from k4mlinference.io.typenames import is_url, ntuple_vector_type, root_vector_class

# The podio release whose file layout we reproduce (CollectionWriteInfo metadata, GP branches).
PODIO_VERSION = (1, 7, 0)
# EDM4hep release our edm4hep.yaml corresponds to (schema 6).
EDM4HEP_VERSION = (1, 0, 0)


BACKENDS = {"ttree": "ttree", "root": "ttree", "default": "ttree", "": "ttree", "rntuple": "rntuple"}


def normalize_backend(backend: str) -> str:
    """`ttree` (also `ROOT`, `default`, as k4FWCore's IOSvc.OutputType) or `rntuple`."""
    key = str(backend).strip().lower()
    if key not in BACKENDS:
        raise ValueError(f"unknown output backend {backend!r}; use 'ttree' (or 'ROOT', 'default') or 'rntuple'")
    return BACKENDS[key]


def temporary_name(path: str | os.PathLike, tag: str = "") -> Path:
    """The hidden temporary an output is written under: `.NAME.PID-TAG.tmp` beside it; the pid
    lets a later run tell the temporaries of dead processes (killed with -9, say) from live ones."""
    final = Path(path)
    return final.parent / f".{final.name}.{os.getpid()}-{tag or uuid.uuid4().hex[:8]}.tmp"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_temporaries(path: str | os.PathLike) -> list[str]:
    """Delete the temporaries (see `temporary_name`) of `path` left by processes that are gone."""
    final = Path(path)
    removed = []
    prefix = f".{final.name}."
    try:
        candidates = [p for p in final.parent.iterdir() if p.name.startswith(prefix) and p.name.endswith(".tmp")]
    except OSError:
        return removed
    for p in candidates:
        pid_text = p.name[len(prefix) :].split("-", 1)[0].split(".", 1)[0]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not _pid_alive(int(pid_text)):
            try:
                p.unlink()
                removed.append(str(p))
            except OSError:
                pass
    return removed


class _Category:
    """Branch layout of one category, fixed by its first frame."""

    def __init__(self, cw: Any, names: list[str], types: dict[str, str], ids: dict[str, int]) -> None:
        self.cw = cw
        self.names = names
        self.types = types
        self.ids = ids
        self.slots: dict[str, int] = {}
        self.schema: dict[str, int] = {}
        self.data_types: dict[str, str] = {}
        self.subsets: set[str] = set()


class Writer:
    """Writes Frames into a podio file; call finish() (or use `with`) to complete it.

    `backend`: "ttree" (also "ROOT", "default") or "rntuple", as IOSvc.OutputType.
    """

    def __init__(self, path: str | os.PathLike, *, compression: int | None = None, backend: str = "ttree") -> None:
        import ROOT

        self.backend = normalize_backend(backend)
        self._compression = compression
        self.path = os.fspath(path)
        self._io = cppyy_io()
        if is_url(self.path):
            self._tmp = self.path
        else:
            final = Path(self.path)
            if final.is_dir():
                raise PodioFileError(self.path, "is a directory")
            if not final.parent.exists():
                raise PodioFileError(self.path, f"directory {final.parent} does not exist")
            if not os.access(final.parent, os.W_OK | os.X_OK):
                raise PodioFileError(self.path, f"permission denied: cannot write in directory {final.parent}")
            for stale in remove_stale_temporaries(final):
                warnings.warn(f"removed {stale}, left by an earlier run that was killed", stacklevel=2)
            self._tmp = str(temporary_name(final))
        old = ROOT.gErrorIgnoreLevel
        ROOT.gErrorIgnoreLevel = ROOT.kFatal  # our error below names the final path, not the temporary
        try:
            self._file = ROOT.TFile.Open(self._tmp, "RECREATE")
        except OSError:
            self._file = None
        finally:
            ROOT.gErrorIgnoreLevel = old
        if not self._file or self._file.IsZombie():
            raise PodioFileError(self.path, "cannot be created for writing")
        if compression is not None:
            self._file.SetCompressionSettings(compression)
        self._cats: dict[str, _Category] = {}
        self._datamodels: dict[str, Any] = {}
        self._declared: list[str] = []
        self._finished = False

    def declare_category(self, category: str) -> None:
        """Have `category` in the file even if no frame is written to it (a run of 0 events still
        gives a file whose `events` our Reader and podio open, with 0 entries)."""
        if category not in self._declared:
            self._declared.append(category)

    # ---------------------------------------------------------------- frames
    def write_frame(self, frame: Any, category: str, collections: Sequence[str] | None = None) -> None:
        """Append `frame` to `category`; `collections` selects (and fixes) the collections written."""
        if self._finished:
            raise RuntimeError(f"{self.path}: write_frame() after finish()")
        names = list(frame.getAvailableCollections()) if collections is None else list(collections)
        cat = self._cats.get(category)
        if cat is None:
            cat = self._start_category(frame, category, names)
        elif sorted(names) != sorted(cat.names):
            extra = sorted(set(names) - set(cat.names))
            missing = sorted(set(cat.names) - set(names))
            raise ValueError(
                f"{self.path}: every frame of category {category!r} must hold the same collections as the first; "
                f"extra: {extra or 'none'}, missing: {missing or 'none'}"
            )
        cw = cat.cw
        for name in cat.names:
            coll = frame.get(name)
            if str(coll.getTypeName()) != cat.types[name]:
                raise TypeError(
                    f"{self.path}: collection {name!r} of category {category!r} is {coll.getTypeName()}, "
                    f"but the first frame had {cat.types[name]}"
                )
            if int(coll.getID()) != cat.ids[name]:
                # references to this collection were stored with its ID; keep the file consistent
                raise ValueError(
                    f"{self.path}: collection {name!r} has ID {int(coll.getID()):#x} but {cat.ids[name]:#x} in "
                    "earlier frames; put collections into frames with Frame.put (ID = hash of the name)"
                )
            cw.set(cat.slots[name], coll)
        self._set_parameters(cw.parameters(), frame.parameters)
        cw.fill()

    def _start_category(self, frame: Any, category: str, names: list[str]) -> _Category:
        from k4mlinference.edm import pythonize

        ordered = sorted(names, key=lambda s: s.lower())
        colls = {n: frame.get(n) for n in ordered}
        ntuple = self.backend == "rntuple"
        if ntuple:
            cw = self._io.NTupleCategoryWriter(
                self._file, category, -1 if self._compression is None else self._compression
            )
        else:
            cw = self._io.TreeCategoryWriter(self._file, category)
        cat = _Category(
            cw,
            ordered,
            {n: str(c.getTypeName()) for n, c in colls.items()},
            {n: int(c.getID()) for n, c in colls.items()},
        )
        for n in ordered:
            c = colls[n]
            if c.isSubsetCollection():
                # podio: one branch `C_objIdx` with the references, no data/relation branches
                ref_type = "std::vector<podio::ObjectID>" if ntuple else "vector<podio::ObjectID>"
                cat.slots[n] = int(cw.addCollection(n + "_objIdx", ref_type, [], [], [], c))
                cat.schema[n] = int(c.getSchemaVersion())
                cat.data_types[n] = "podio::ObjectID"
                cat.subsets.add(n)
                info = pythonize.TYPES.get(str(c.getTypeName()))
                if info is not None:
                    self._note_datamodel(info.datatype.name)
                continue
            data_type = str(c.getDataTypeName())
            is_userdata = str(c.getTypeName()).startswith("podio::UserDataCollection<")
            data_class = root_vector_class(data_type) if is_userdata else f"vector<{data_type}>"
            rels = [str(r) for r in c.relationNames()]
            vecs = [str(v) for v in c.vectorMemberNames()]
            vec_classes = [root_vector_class(str(t)) for t in c.vectorMemberTypes()]
            if ntuple:  # RNTuple fields are typed with C++ names, fixed-width integers as std::
                data_class = ntuple_vector_type(data_type)
                vec_classes = [ntuple_vector_type(str(t)) for t in c.vectorMemberTypes()]
            cat.slots[n] = int(cw.addCollection(n, data_class, rels, vecs, vec_classes, c))
            cat.schema[n] = int(c.getSchemaVersion())
            cat.data_types[n] = data_type
            info = pythonize.TYPES.get(type(c).__cpp_name__)
            if info is not None:
                self._note_datamodel(info.datatype.name)
        cw.addParameterBranches()
        self._cats[category] = cat
        return cat

    def _note_datamodel(self, datatype: str) -> None:
        from k4mlinference.edm import loader

        # as podio: the definitions of the datamodels whose types are written (not their upstreams)
        for name, dm in loader.loaded().items():
            if datatype in dm.datatypes:
                self._datamodels.setdefault(name, dm)

    @staticmethod
    def _set_parameters(p: Any, params: dict[str, Any]) -> None:
        """Frame parameters -> GP branches (Python int -> int, float -> double, str -> string)."""
        add = {"int": p.addInt, "float": p.addFloat, "double": p.addDouble, "string": p.addString}
        for key, value in params.items():
            kind, vals = parameter_values(key, value)
            if kind:
                add[kind](key, vals)

    # ---------------------------------------------------------------- finishing
    def finish(self) -> None:
        """Write trees and podio_metadata, close, and move the file to its final name."""
        if self._finished:
            return
        try:
            for category in self._declared:
                if category not in self._cats:
                    from k4mlinference.edm.frame import Frame

                    self._start_category(Frame(), category, [])
            for cat in self._cats.values():
                cat.cw.finish()
            self._write_metadata()
            self._file.Write()
            self._file.Close()
        except BaseException:
            self.abort()
            raise
        self._finished = True
        if self._tmp != self.path:
            os.replace(self._tmp, self.path)

    close = finish

    def _write_metadata(self) -> None:
        mw = self._io.MetadataWriter()
        for name, cat in self._cats.items():
            mw.addCategory(name)
            for n in cat.names:
                dtype = cat.data_types[n]
                storage = f"std::vector<{dtype}>"
                mw.addTypeInfo(name, cat.ids[n], cat.types[n], n in cat.subsets, cat.schema[n], n, storage)
        for name, source in self._definitions().items():
            mw.addDatamodel(name, json.dumps(source, default=str))
        mw.setPodioVersion(*PODIO_VERSION)
        if "edm4hep" in self._datamodels:
            mw.addDatamodelVersion("edm4hep", *EDM4HEP_VERSION)
        if self.backend == "rntuple":
            mw.writeNTuple(self._file)
        else:
            mw.write(self._file)

    def _definitions(self) -> dict[str, dict]:
        """Datamodel definitions to store: extensions compiled from other files are merged into
        the datamodel they extend, so the file names `edm4eic` as podio would."""
        from k4mlinference.edm import loader
        from k4mlinference.io.datamodels import base_datamodel_name

        loaded = loader.loaded()
        out: dict[str, dict] = {}
        for name in sorted(self._datamodels, key=lambda n: base_datamodel_name(n) != n):
            base = base_datamodel_name(name)
            if base not in out:
                out[base] = dict(loaded[base].source if base in loaded else self._datamodels[name].source)
            if base != name:
                ext = self._datamodels[name].source
                for key in ("components", "datatypes", "interfaces", "links"):
                    out[base][key] = {**(out[base].get(key) or {}), **(ext.get(key) or {})}
        return out

    def abort(self) -> None:
        """Give up: drop the temporary file (nothing appears under the final name)."""
        self._finished = True
        try:
            if self.backend == "rntuple":  # an RNTupleWriter commits when destroyed: before the file goes
                for cat in self._cats.values():
                    try:
                        cat.cw.finish()
                    except Exception:  # noqa: BLE001  (the file is discarded anyway)
                        pass
            if self._file:
                self._file.Close()
        finally:
            if self._tmp != self.path and os.path.exists(self._tmp):
                os.unlink(self._tmp)

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.finish()
        else:
            self.abort()

    def __del__(self) -> None:
        if not getattr(self, "_finished", True):
            warnings.warn(f"Writer for {self.path} was never finished; its output is discarded", stacklevel=2)
            try:
                self.abort()
            except Exception:  # noqa: BLE001
                pass
