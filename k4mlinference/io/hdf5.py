"""Training export: collections, Tensor collections and per-event arrays to HDF5 (h5py).

Why HDF5 next to podio ROOT files: training code wants flat, column-wise, randomly accessible
arrays without a ROOT installation. The exporter keeps podio's on-disk content (the XData
members, the vector members with their begin/end, the relation ObjectIDs) but flattens it into
one chunked, compressed, resizable dataset per column, and adds per-event offsets so any event
can be rebuilt. Columns are read through the collections' zero-copy views; strided columns
(`momentum.x` inside the XData array of structs) are handed to HDF5 as a strided memory
selection, so the only copy made is the one into the HDF5 file.

File layout (one group per exported name)::

    /                         attrs: format, format_version, k4mlinference_version, source,
                              created, history (one line per writing session)
    /<Collection>/            attrs: kind="collection", podio_type, data_type, schema_version,
                              collection_id
        offsets               int64 [n_events+1]; event i owns rows offsets[i]:offsets[i+1]
        PDG, momentum.x, ...  one dataset per (flattened) XData member, [rows] or [rows, n] for
                              std::array members; the vector/relation `<name>_begin`/`_end`
                              columns are kept as podio stores them (indices local to the event)
        <vec>                 vector member `<vec>` (struct elements flattened: `<vec>.<field>`)
        <vec>.offsets         int64 [n_events+1] into `<vec>`
        <rel>.index, <rel>.collectionID   relation ObjectIDs; `<rel>.offsets` int64 [n_events+1]
    /<Tensor>/                attrs: kind="tensor", podio_type, elementType, dtype, trailing_shape
        data                  [total_rows, *trailing_shape]: the event's Tensor (0 or 1 per event,
                              as EICrecon writes them) concatenated along its first axis
        offsets               int64 [n_events+1]
    /<array>/                 attrs: kind="array", dtype, trailing_shape (from `write_arrays`)
        data, offsets         as for tensors

Every data dataset carries attrs `role` (column, vector, relation, data) and `offsets` (the name
of the offsets dataset in its group that slices it per event), so readers never parse names.

Rows of tensors and arrays: a Tensor or array of shape (n, *f) contributes n rows of shape f (so a
per-event feature vector meant as one row must be written as shape (1, f)); a 0-d value is one
row; a Tensor collection holding no Tensor in an event gives 0 rows; more than one Tensor in one
event is refused rather than silently merged. Every group counts its own events (one per
`write_frame`/`write_arrays`/`write_collection` that names it); the datasets check that the groups
they combine have the same count.

While a file is open the data datasets are over-allocated (they grow by half, because one HDF5
resize per event and column costs more than the write itself); the offsets are the truth and
`close()` trims every dataset to them.

Creating a file writes to a hidden temporary name beside it and renames it at `close()`, so a
crash leaves no half-written file under the final name. Appending to an existing file modifies it
in place: copying a large training file for every run would be too slow, and each event is only
committed when its `offsets` entries are written last, so after an interrupted append the rows
past the last committed offset are ignored and trimmed by the next append (HDF5 itself gives no
guarantee against metadata corruption by a crash in the middle of a write).
"""

from __future__ import annotations

import datetime
import os
import secrets
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

FORMAT = "k4mlinference.hdf5"
FORMAT_VERSION = 1
TENSOR_TYPE = "edm4eic::TensorCollection"
_OFFSETS = "offsets"
_OFFSETS_DTYPE = np.dtype("int64")
_HISTORY_MAX = 100


class HDF5SchemaError(ValueError):
    """What is being appended does not match what the file already holds."""


def _version() -> str:
    from k4mlinference import __version__

    return __version__


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


# ------------------------------------------------------------------ column descriptions
@dataclass(frozen=True)
class _Column:
    """One dataset of a collection group: where its values come from and how it is sliced."""

    name: str  # dataset name inside the group
    dtype: np.dtype
    trailing: tuple[int, ...]
    role: str  # "column" | "vector" | "relation" | "data"
    offsets: str  # offsets dataset in the same group
    source: str  # "data", "vector:<name>", "relation:<name>", "userdata"
    fields: tuple[str, ...] = ()  # structured-field path inside the source view


def _flatten(dtype: np.dtype, prefix: tuple[str, ...] = (), shape: tuple[int, ...] = ()):
    """(field path, scalar dtype, trailing shape) for every leaf of a structured dtype."""
    for name in dtype.names or ():
        fdt = dtype.fields[name][0]
        sub = shape
        if fdt.subdtype is not None:
            fdt, extra = fdt.subdtype
            sub = shape + tuple(extra)
        if fdt.names:
            yield from _flatten(fdt, prefix + (name,), sub)
        else:
            yield prefix + (name,), np.dtype(fdt), sub


def _is_tensor(coll: Any) -> bool:
    return str(coll.getTypeName()) == TENSOR_TYPE


def _is_userdata(coll: Any) -> bool:
    return str(coll.getTypeName()).startswith("podio::UserDataCollection<")


def _userdata_dtype(coll: Any) -> np.dtype:
    from k4mlinference.datamodel.model import builtin_dtype

    value = str(coll.getValueTypeName())
    dtype = builtin_dtype(value)
    if dtype is None:
        raise TypeError(f"podio::UserDataCollection<{value}> has no numpy equivalent")
    return dtype


def _userdata_view(coll: Any) -> np.ndarray:
    import cppyy.ll

    from k4mlinference.edm import views

    addr = cppyy.ll.addressof(coll)
    return views.raw_view(coll, addr, cppyy.ll.addressof(coll.m_data), _userdata_dtype(coll))


_COLUMNS: dict[str, list[_Column]] = {}  # podio type name -> columns (derived once per type)


def collection_columns(coll: Any) -> list[_Column]:
    """The datasets a (non-Tensor) collection is exported to, derived from its datatype."""
    key = str(coll.getTypeName())
    if key not in _COLUMNS:
        _COLUMNS[key] = _derive_columns(coll)
    return _COLUMNS[key]


def _derive_columns(coll: Any) -> list[_Column]:
    if _is_userdata(coll):
        return [_Column("values", _userdata_dtype(coll), (), "column", _OFFSETS, "userdata")]
    info = coll.type_info
    cols = [
        _Column(".".join(path), dt, shape, "column", _OFFSETS, "data", path)
        for path, dt, shape in _flatten(info.data_dtype)
    ]
    for vname, vdt in info.vector_dtypes.items():
        offs = f"{vname}.offsets"
        if vdt.names:
            cols += [
                _Column(".".join((vname, *p)), dt, shape, "vector", offs, f"vector:{vname}", p)
                for p, dt, shape in _flatten(vdt)
            ]
        else:
            cols.append(_Column(vname, vdt, (), "vector", offs, f"vector:{vname}"))
    from k4mlinference.edm.pythonize import OBJECT_ID_DTYPE

    for rname in info.relation_names:
        for part in OBJECT_ID_DTYPE.names:
            cols.append(
                _Column(
                    f"{rname}.{part}",
                    OBJECT_ID_DTYPE[part],
                    (),
                    "relation",
                    f"{rname}.offsets",
                    f"relation:{rname}",
                    (part,),
                )
            )
    names = [c.name for c in cols] + sorted({c.offsets for c in cols})
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise HDF5SchemaError(f"{info.datatype.name}: dataset names collide in the HDF5 layout: {', '.join(dupes)}")
    return cols


def _source_views(coll: Any, cols: list[_Column]) -> dict[str, np.ndarray]:
    """One zero-copy view per source buffer (data, each vector member, each relation)."""
    out: dict[str, np.ndarray] = {}
    for c in cols:
        if c.source in out:
            continue
        kind, _, name = c.source.partition(":")
        if kind == "data":
            out[c.source] = coll.data_view()
        elif kind == "vector":
            out[c.source] = coll.vector_view(name)
        elif kind == "relation":
            out[c.source] = coll.relation_view(name)
        else:
            out[c.source] = _userdata_view(coll)
    return out


def _column_view(views: dict[str, np.ndarray], c: _Column) -> np.ndarray:
    arr = views[c.source]
    for p in c.fields:
        arr = arr[p]
    return arr


# ------------------------------------------------------------------ low-level writing
def _write_rows(dset: Any, row0: int, values: np.ndarray) -> None:
    """Write `values` (rows, *trailing) at rows [row0, row0+rows) of `dset`, without a Python copy.

    A strided column such as `momentum.x` (a field of the XData structs) is described to HDF5 as a
    hyperslab with a stride over the structs' memory, so HDF5 gathers it straight into its chunk
    cache. Layouts that cannot be described that way are made contiguous first (one extra copy).
    """
    import h5py

    n = values.shape[0]
    if n == 0:
        return
    fspace = dset.id.get_space()
    fspace.select_hyperslab((row0,) + (0,) * (dset.ndim - 1), (n,) + tuple(dset.shape[1:]))
    if values.flags.c_contiguous:
        mspace = h5py.h5s.create_simple((values.size,))
        dset.id.write(mspace, fspace, np.ascontiguousarray(values).reshape(-1))
        return
    e = values.dtype.itemsize
    k = int(np.prod(values.shape[1:], dtype=np.int64))
    inner_ok = all(
        values.strides[d] == e * int(np.prod(values.shape[d + 1 :], dtype=np.int64)) for d in range(1, values.ndim)
    )
    row_stride = values.strides[0]
    if inner_ok and row_stride > 0 and row_stride % e == 0 and row_stride // e >= k:
        step = row_stride // e
        span = (n - 1) * step + k
        flat = np.lib.stride_tricks.as_strided(values, shape=(span,), strides=(e,), writeable=False)
        mspace = h5py.h5s.create_simple((span,))
        mspace.select_hyperslab((0,), (n,), stride=(step,), block=(k,))
        dset.id.write(mspace, fspace, flat)
        return
    dense = np.ascontiguousarray(values)
    mspace = h5py.h5s.create_simple((dense.size,))
    dset.id.write(mspace, fspace, dense.reshape(-1))


@dataclass
class _Pending:
    """One group's contribution to the current event, validated before anything is written."""

    group: str
    kind: str
    attrs: dict[str, Any]
    segments: list[tuple[_Column, np.ndarray]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # offsets dataset -> rows this event
    keep: Any = None  # owner of the views (the collection), alive until written


class _GroupState:
    """An open group: its datasets by name, the committed end of every offsets dataset, the event count."""

    def __init__(self, group: Any) -> None:
        self.group = group
        self.dsets: dict[str, Any] = {}
        self.ends: dict[str, int] = {}
        self.n_events = 0

    @classmethod
    def load(cls, g: Any) -> _GroupState:
        """State of an existing group; offsets entries past the row offsets' last event are dropped."""
        st = cls(g)
        st.dsets = {k: g[k] for k in g}
        st.n_events = st.dsets[_OFFSETS].shape[0] - 1
        for k, d in st.dsets.items():
            if d.attrs.get("role") == "offsets":
                if d.shape[0] > st.n_events + 1:
                    d.resize((st.n_events + 1,))
                st.ends[k] = int(d[-1])
        return st

    def trim(self) -> None:
        for d in self.dsets.values():
            off = d.attrs.get("offsets")
            if off is not None and d.shape[0] != self.ends[str(off)]:
                d.resize(self.ends[str(off)], axis=0)


# ------------------------------------------------------------------ the exporter
class HDF5Exporter:
    """Write chosen collections, Tensor collections and named per-event arrays to one HDF5 file.

    `collections`: names to export from every frame (None: every collection of the frame).
    `mode`: "a" appends to an existing file (in place) or creates a new one, "w" creates a new
    file that replaces an existing one at close, "x" refuses an existing file. `source` is a free
    description stored in the file attributes (input files, generator settings ...).
    `compression`: "gzip" (level `compression_opts`), "lzf" or None. `chunk_bytes` is the
    target size of one chunk: small enough that reading one event decompresses little.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        collections: Iterable[str] | None = None,
        mode: str = "a",
        *,
        source: str = "",
        compression: str | None = "gzip",
        compression_opts: int | None = 4,
        chunk_bytes: int = 64 * 1024,
    ) -> None:
        import h5py

        if mode not in ("a", "w", "x"):
            raise ValueError(f"HDF5Exporter mode must be 'a' (append or create), 'w' or 'x', not {mode!r}")
        if compression not in ("gzip", "lzf", None):
            raise ValueError(f"compression must be 'gzip', 'lzf' or None, not {compression!r}")
        self.path = os.fspath(path)
        self.collections = None if collections is None else list(collections)
        self.mode = mode
        self.source = source
        self._compression = compression
        self._compression_opts = compression_opts if compression == "gzip" else None
        self._chunk_bytes = max(1024, int(chunk_bytes))
        self._groups: dict[str, _GroupState] = {}  # open groups (datasets, committed ends)
        self._checked: dict[str, Any] = {}  # group -> signature verified against the file
        self._tmp: str | None = None
        exists = os.path.exists(self.path)
        if exists and mode == "x":
            raise FileExistsError(f"HDF5Exporter: {self.path} exists (mode='x')")
        self.appending = exists and mode == "a"
        if self.appending:
            try:
                self._file = h5py.File(self.path, "r+", rdcc_nbytes=4 << 20)
            except OSError as err:
                raise OSError(f"HDF5Exporter: cannot open {self.path} to append: {err}") from err
            fmt = self._file.attrs.get("format")
            if fmt != FORMAT:
                self._file.close()
                raise HDF5SchemaError(
                    f"{self.path} is not a k4mlinference HDF5 export (format attribute {fmt!r}, expected {FORMAT!r}); "
                    "refusing to append to it"
                )
            self._recover()
        else:
            folder, base = os.path.split(os.path.abspath(self.path))
            self._tmp = os.path.join(folder, f".{base}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
            if not os.path.exists(folder):
                raise FileNotFoundError(f"HDF5Exporter: cannot create {self.path}: directory {folder} does not exist")
            if not os.path.isdir(folder):
                raise NotADirectoryError(f"HDF5Exporter: cannot create {self.path}: {folder} is not a directory")
            try:
                self._file = h5py.File(self._tmp, "x", rdcc_nbytes=4 << 20)
            except OSError as err:
                cls = type(err) if isinstance(err, (PermissionError, FileNotFoundError)) else OSError
                raise cls(f"HDF5Exporter: cannot create {self.path} (temporary file {self._tmp}): {err}") from err
            self._file.attrs["format"] = FORMAT
            self._file.attrs["format_version"] = FORMAT_VERSION
            self._file.attrs["k4mlinference_version"] = _version()
            self._file.attrs["source"] = source
            self._file.attrs["created"] = _now()
        hist = [str(h) for h in self._file.attrs.get("history", [])]
        verb = "appended" if self.appending else "created"
        hist.append(f"{_now()} {verb} by k4mlinference {_version()}: {source}")
        if len(hist) > _HISTORY_MAX:  # an attribute must stay under HDF5's 64 KiB: keep the creation and the latest
            hist = hist[:1] + ["..."] + hist[-(_HISTORY_MAX - 2) :]
        self._file.attrs["history"] = hist

    # ------------------------------------------------------------ context manager
    def __enter__(self) -> HDF5Exporter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None and not self.appending:
            self.abort()  # an exception means the new file is incomplete: never give it the final name
        else:
            self.close()

    def __del__(self) -> None:
        if getattr(self, "_file", None) is not None:
            warnings.warn(f"HDF5Exporter for {self.path} was not closed; discarding it", ResourceWarning, stacklevel=1)
            try:
                self.abort()
            except Exception:  # noqa: BLE001 - interpreter shutdown
                pass

    @property
    def closed(self) -> bool:
        return self._file is None

    def close(self) -> None:
        """Flush, close and (for a new file) rename the temporary file to the final path."""
        if self._file is None:
            return
        self._trim()
        self._file.flush()
        self._file.close()
        self._file = None
        if self._tmp is not None:
            os.replace(self._tmp, self.path)
            self._tmp = None

    def abort(self) -> None:
        """Close without publishing: a new file's temporary is deleted; an appended file keeps its committed events."""
        if self._file is None:
            return
        if self.appending:
            self.close()
            return
        try:
            self._file.close()
        finally:
            self._file = None
            if self._tmp is not None:
                try:
                    os.unlink(self._tmp)
                except FileNotFoundError:
                    pass
                self._tmp = None

    # ------------------------------------------------------------ public writing API
    def write_frame(self, frame: Any, collections: Iterable[str] | None = None) -> None:
        """Append one event: the chosen collections of `frame` (every collection if none were chosen).

        All collections are checked against the file before anything is written, so an error
        leaves the file at the previous event.
        """
        self._check_open()
        names = list(collections) if collections is not None else self.collections
        if names is None:
            names = list(frame.getAvailableCollections())
        if len(set(names)) != len(names):
            raise ValueError(f"HDF5Exporter({self.path}): collection names given more than once: {names}")
        available = list(frame.getAvailableCollections())
        missing = [n for n in names if n not in available]
        if missing:
            raise KeyError(
                f"HDF5Exporter({self.path}): no collection {', '.join(map(repr, missing))} in the frame; "
                f"available: {', '.join(sorted(available)) or '(none)'}"
            )
        pending = [self._prepare_collection(n, frame.get(n)) for n in names]
        for p in pending:
            self._commit(p)

    def write_arrays(self, arrays: Mapping[str, Any]) -> None:
        """Append one event of named arrays (model inputs, targets ... not held in a frame).

        Each value holds this event's rows, shape (rows, *features); arrays of several events are
        concatenated along the first axis. A 0-d value counts as one row.
        """
        self._check_open()
        pending = [self._prepare_array(name, value) for name, value in arrays.items()]
        for p in pending:
            self._commit(p)

    def write_collection(self, name: str, coll: Any) -> None:
        """Append one event of a single collection (no frame needed)."""
        self._check_open()
        self._commit(self._prepare_collection(name, coll))

    # ------------------------------------------------------------ preparation (validation)
    def _check_open(self) -> None:
        if self._file is None:
            raise ValueError(f"HDF5Exporter({self.path}) is closed")

    def _prepare_collection(self, name: str, coll: Any) -> _Pending:
        if _is_tensor(coll):
            return self._prepare_tensor(name, coll)
        cols = collection_columns(coll)
        attrs = {
            "kind": "collection",
            "podio_type": str(coll.getTypeName()),
            "data_type": str(coll.getDataTypeName()) if hasattr(coll, "getDataTypeName") else "",
            "schema_version": int(coll.getSchemaVersion()),
            "collection_id": int(coll.getID()),
        }
        self._check_group(name, attrs, cols)
        views = _source_views(coll, cols)
        pending = _Pending(name, "collection", attrs, keep=coll)
        n_rows = len(views["data"]) if "data" in views else len(views["userdata"])
        pending.counts[_OFFSETS] = n_rows
        for c in cols:
            v = _column_view(views, c)
            pending.segments.append((c, v))
            pending.counts[c.offsets] = v.shape[0]
        return pending

    @staticmethod
    def _rows(arr: np.ndarray) -> np.ndarray:
        """A 0-d value is one row; everything else is already (rows, *trailing)."""
        return arr.reshape(1) if arr.ndim == 0 else arr

    def _prepare_tensor(self, name: str, coll: Any) -> _Pending:
        from k4mlinference.edm import tensor as T

        n = len(coll)
        if n > 1:
            raise T.TensorError(
                f"HDF5Exporter({self.path}): Tensor collection {name!r} holds {n} tensors in one event; "
                "the export expects one Tensor per event (EICrecon's convention)"
            )
        attrs = {"kind": "tensor", "podio_type": TENSOR_TYPE}
        if n == 0:
            return self._pending_rows(name, attrs, None, coll)
        arr = self._rows(T.as_array(coll, 0))
        attrs["elementType"] = T.element_type_of(arr.dtype)
        return self._pending_rows(name, attrs, arr, coll)

    def _prepare_array(self, name: str, value: Any) -> _Pending:
        if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch.Tensor: shares memory on CPU
            value = value.detach().cpu().numpy()
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf?":
            raise TypeError(f"HDF5Exporter({self.path}): array {name!r} has dtype {arr.dtype}; only numbers and bools")
        return self._pending_rows(name, {"kind": "array"}, self._rows(arr), value)

    def _pending_rows(self, name: str, attrs: dict[str, Any], arr: np.ndarray | None, keep: Any) -> _Pending:
        """Validate a (rows, *trailing) block against the group's recorded dtype and trailing shape."""
        from k4mlinference.edm.tensor import TensorError

        f = self._file
        pending = _Pending(name, attrs["kind"], attrs, keep=keep)
        pending.counts[_OFFSETS] = 0 if arr is None else arr.shape[0]
        if name in f:
            g = f[name]
            self._check_kind(name, g, attrs)
            if arr is not None and "dtype" in g.attrs:
                want_dt, want_tr = np.dtype(str(g.attrs["dtype"])), tuple(int(x) for x in g.attrs["trailing_shape"])
                if arr.dtype != want_dt:
                    raise HDF5SchemaError(
                        f"{self.path}: dataset /{name}/data holds {want_dt}, cannot append {arr.dtype} "
                        f"(elementType {attrs.get('elementType', '-')})"
                    )
                if arr.shape[1:] != want_tr:
                    raise TensorError(
                        f"{self.path}: dataset /{name}/data has rows of shape {want_tr} (trailing_shape); "
                        f"this event's {'Tensor' if attrs['kind'] == 'tensor' else 'array'} {name!r} has shape "
                        f"{arr.shape}, i.e. rows of shape {arr.shape[1:]}"
                    )
        if arr is not None:
            col = _Column("data", arr.dtype, tuple(arr.shape[1:]), "data", _OFFSETS, "data")
            pending.segments.append((col, arr))
        return pending

    def _check_kind(self, name: str, g: Any, attrs: dict[str, Any]) -> None:
        import h5py

        if not isinstance(g, h5py.Group):
            raise HDF5SchemaError(f"{self.path}: /{name} is not a group written by HDF5Exporter")
        for key in ("kind", "podio_type"):
            if key in attrs and key in g.attrs and str(g.attrs[key]) != str(attrs[key]):
                raise HDF5SchemaError(
                    f"{self.path}: group /{name} holds {key}={g.attrs[key]!s}, cannot append {key}={attrs[key]!s}"
                )

    def _check_group(self, name: str, attrs: dict[str, Any], cols: list[_Column]) -> None:
        """Compare a collection's columns with the existing group (once per group and type)."""
        signature = (attrs["podio_type"], tuple((c.name, c.dtype.str, c.trailing) for c in cols))
        if self._checked.get(name) == signature:
            return
        f = self._file
        if name in f:
            g = f[name]
            self._check_kind(name, g, attrs)
            have = {k for k in g.keys() if g[k].attrs.get("role") != "offsets"}
            want = {c.name for c in cols}
            if have != want:
                extra, lack = sorted(have - want), sorted(want - have)
                raise HDF5SchemaError(
                    f"{self.path}: group /{name} ({g.attrs.get('podio_type')}) has datasets that do not match the "
                    f"collection being appended: only in the file: {', '.join(extra) or '-'}; "
                    f"only in the collection: {', '.join(lack) or '-'}"
                )
            for c in cols:
                d = g[c.name]
                if d.dtype != c.dtype or tuple(d.shape[1:]) != c.trailing:
                    raise HDF5SchemaError(
                        f"{self.path}: dataset /{name}/{c.name} is {d.dtype} with rows of shape {tuple(d.shape[1:])} "
                        f"in the file, but the collection being appended gives {c.dtype} with rows of shape {c.trailing}"
                    )
        self._checked[name] = signature

    # ------------------------------------------------------------ committing one event
    def _chunks(self, dtype: np.dtype, trailing: tuple[int, ...]) -> tuple[int, ...]:
        row = dtype.itemsize * int(np.prod(trailing, dtype=np.int64)) or 1
        return (max(1, min(1 << 20, self._chunk_bytes // row)),) + tuple(max(1, t) for t in trailing)

    def _create(self, g: Any, name: str, dtype: np.dtype, trailing: tuple[int, ...], **attrs: Any) -> Any:
        d = g.create_dataset(
            name,
            shape=(0, *trailing),
            maxshape=(None, *trailing),
            dtype=dtype,
            chunks=self._chunks(dtype, trailing),
            compression=self._compression,
            compression_opts=self._compression_opts,
            shuffle=self._compression is not None and dtype.itemsize > 1,
        )
        for k, v in attrs.items():
            d.attrs[k] = v
        return d

    def _state(self, p: _Pending) -> _GroupState:
        """The group's open datasets and committed ends, creating the group on first use."""
        st = self._groups.get(p.group)
        if st is not None:
            return st
        f = self._file
        if p.group in f:
            st = _GroupState.load(f[p.group])
        else:
            g = f.create_group(p.group)
            for k, v in p.attrs.items():
                g.attrs[k] = v
            st = _GroupState(g)
            for off in p.counts:
                d = self._create(g, off, _OFFSETS_DTYPE, (), role="offsets")
                d.resize((1,))
                _write_rows(d, 0, np.zeros(1, _OFFSETS_DTYPE))
                st.dsets[off], st.ends[off] = d, 0
            if p.kind == "collection":
                for c, _ in p.segments:
                    d = self._create(g, c.name, c.dtype, c.trailing, role=c.role, offsets=c.offsets)
                    st.dsets[c.name] = d
        self._groups[p.group] = st
        return st

    def _commit(self, p: _Pending) -> None:
        st = self._state(p)
        g, ends, dsets = st.group, st.ends, st.dsets
        if p.kind != "collection":
            for c, arr in p.segments:
                if "data" not in dsets:  # the first non-empty tensor/array fixes dtype and trailing shape
                    dsets["data"] = self._create(g, "data", arr.dtype, c.trailing, role="data", offsets=_OFFSETS)
                    g.attrs["dtype"] = np.dtype(arr.dtype).name
                    g.attrs["trailing_shape"] = np.asarray(c.trailing, dtype=np.int64)
                    if "elementType" in p.attrs:
                        g.attrs["elementType"] = p.attrs["elementType"]
        for c, values in p.segments:
            d = dsets[c.name]
            row0 = ends[c.offsets]
            need = row0 + values.shape[0]
            if need > d.shape[0]:  # grow by half at least: resizing per event costs more than the write
                d.resize(max(need, d.shape[0] + d.shape[0] // 2, d.chunks[0]), axis=0)
            _write_rows(d, row0, values)
        # offsets last, the row offsets very last: they commit the event
        n = st.n_events + 1
        for off in sorted(p.counts, key=lambda o: o == _OFFSETS):
            d = dsets[off]
            d.resize((n + 1,))
            ends[off] += p.counts[off]
            _write_rows(d, n, np.array([ends[off]], dtype=_OFFSETS_DTYPE))
        st.n_events = n
        p.segments.clear()
        p.keep = None

    def _trim(self) -> None:
        """Cut the over-allocated data datasets back to what the offsets cover."""
        for st in self._groups.values():
            st.trim()

    def _recover(self) -> None:
        """Trim what an interrupted append left past the last committed event of every group."""
        import h5py

        for gname, g in self._file.items():
            if isinstance(g, h5py.Group) and _OFFSETS in g:
                st = _GroupState.load(g)
                st.trim()
                self._groups[gname] = st

    def __repr__(self) -> str:
        state = "closed" if self._file is None else ("appending" if self.appending else "new")
        return f"<HDF5Exporter {self.path} ({state})>"


def describe(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """Group name -> {kind, n_events, datasets} of an export, for quick inspection and error messages."""
    import h5py

    out: dict[str, dict[str, Any]] = {}
    with h5py.File(path, "r") as f:
        for name, g in f.items():
            if isinstance(g, h5py.Group) and _OFFSETS in g:
                out[name] = {
                    "kind": str(g.attrs.get("kind", "")),
                    "n_events": g[_OFFSETS].shape[0] - 1,
                    "datasets": [k for k in g if g[k].attrs.get("role") != "offsets"],
                }
    return out


__all__: list[str] = ["FORMAT", "HDF5Exporter", "HDF5SchemaError", "collection_columns", "describe"]
