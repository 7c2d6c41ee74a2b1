"""torch datasets over the HDF5 training export (`k4mlinference.io.hdf5.HDF5Exporter`).

Keys name what to load:
- a Tensor or array group (`"Features"`): its `data`, rows of shape `trailing_shape`;
- a dataset inside a collection group (`"MCParticles/momentum.x"`, `"MCParticles/parents.index"`):
  that column, sliced per event by the offsets dataset named in its `offsets` attribute.

`HDF5EventDataset` serves one event per item (ragged: the rows of that event), which is what
per-event models (and the batched inference layer) consume; `collate_events` concatenates a batch
and returns the offsets needed to split the outputs back per event. `HDF5RowDataset` serves one
object (row) per item for per-object models (PID ...). HDF5 handles are opened lazily per process,
so the datasets work with `DataLoader(num_workers>0)` (h5py handles must not cross a fork).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

_OFFSETS = "offsets"


def _torch_compatible(a: np.ndarray) -> np.ndarray:
    """torch has no (or only partial) unsigned 16/32/64-bit support: widen or reinterpret them.

    uint16 -> int32 and uint32 -> int64 keep the values; uint64 (cell IDs) is reinterpreted as
    int64 bit for bit, so `.view(np.uint64)` on the numpy side gives the original values back.
    """
    if a.dtype == np.uint16:
        return a.astype(np.int32)
    if a.dtype == np.uint32:
        return a.astype(np.int64)
    if a.dtype == np.uint64:
        return a.view(np.int64)
    return a


def _available(f: Any) -> list[str]:
    """Every loadable key in an export: group names of tensors/arrays, `group/dataset` of collections."""
    import h5py

    keys = []
    for name, g in f.items():
        if not isinstance(g, h5py.Group):
            continue
        if g.attrs.get("kind") in ("tensor", "array"):
            keys.append(name)
        else:
            keys += [f"{name}/{k}" for k in g if g[k].attrs.get("role") not in (None, "offsets")]
    return keys


def _resolve(f: Any, key: str, path: str) -> tuple[str | None, str, dict[str, Any]]:
    """(data dataset path or None when never written, offsets dataset path, info) of a key."""
    import h5py

    obj = f.get(key)
    if isinstance(obj, h5py.Group) and obj.attrs.get("kind") in ("tensor", "array"):
        info = {
            "dtype": str(obj.attrs.get("dtype", "float32")),
            "trailing": tuple(int(x) for x in obj.attrs.get("trailing_shape", ())),
        }
        return (f"{key}/data" if "data" in obj else None), f"{key}/{_OFFSETS}", info
    if isinstance(obj, h5py.Dataset) and obj.attrs.get("role") not in (None, "offsets"):
        group = key.rsplit("/", 1)[0]
        return key, f"{group}/{obj.attrs['offsets']}", {"dtype": str(obj.dtype), "trailing": tuple(obj.shape[1:])}
    avail = _available(f)
    if isinstance(obj, h5py.Group):
        inside = [k for k in avail if k.startswith(key + "/")]
        raise KeyError(f"{path}: {key!r} is a collection; name one of its columns: {', '.join(inside)}")
    raise KeyError(f"{path}: no {key!r} in the export; available: {', '.join(avail) or '(none)'}")


class _Source:
    """Lazily opened, per-process h5py handle plus resolved keys (optionally loaded to memory)."""

    def __init__(self, path: str | os.PathLike, keys: Sequence[str], in_memory: bool) -> None:
        import h5py

        self.path = os.fspath(path)
        self.keys = list(keys)
        dup = sorted({k for k in self.keys if self.keys.count(k) > 1})
        if dup:
            raise ValueError(f"{self.path}: keys given more than once: {', '.join(dup)}")
        self._file: Any = None
        self._pid = -1
        self.data: dict[str, Any] = {}
        self.offsets: dict[str, np.ndarray] = {}
        self.info: dict[str, dict[str, Any]] = {}
        with h5py.File(self.path, "r") as f:
            for k in self.keys:
                dpath, opath, info = _resolve(f, k, self.path)
                self.offsets[k] = f[opath][...].astype(np.int64)
                self.info[k] = info
                if dpath is None:
                    self.data[k] = np.zeros((0, *info["trailing"]), dtype=info["dtype"])
                else:
                    self.data[k] = f[dpath][...] if in_memory else dpath
        self.n_events = {k: len(o) - 1 for k, o in self.offsets.items()}

    def file(self) -> Any:
        import h5py

        if self._file is None or self._pid != os.getpid():
            self._file = h5py.File(self.path, "r")
            self._pid = os.getpid()
        return self._file

    def rows(self, key: str, begin: int, end: int) -> np.ndarray:
        d = self.data[key]
        if isinstance(d, str):
            d = self.file()[d]
        return np.asarray(d[begin:end])

    def __getstate__(self) -> dict[str, Any]:  # picklable for DataLoader workers (spawn)
        state = dict(self.__dict__)
        state["_file"], state["_pid"] = None, -1
        return state


def _check_same_events(src: _Source, what: str) -> int:
    counts = src.n_events
    if len(set(counts.values())) > 1:
        raise ValueError(
            f"{src.path}: {what} do not have the same number of events: "
            + ", ".join(f"{k}={n}" for k, n in counts.items())
        )
    return next(iter(counts.values()), 0)


class HDF5EventDataset(Dataset):
    """One event per item: `{key: tensor of that event's rows}` for every input and target key.

    `inputs` and `targets` are export keys (see the module doc); they must all have the same
    number of events. `in_memory=True` reads the chosen datasets once at construction (fast
    random access for small exports); otherwise each item reads its slices from the file.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        inputs: Sequence[str],
        targets: Sequence[str] = (),
        *,
        in_memory: bool = False,
    ) -> None:
        self.inputs = list(inputs)
        self.targets = list(targets)
        if not self.inputs and not self.targets:
            raise ValueError("HDF5EventDataset needs at least one input or target key")
        self._src = _Source(path, self.inputs + self.targets, in_memory)
        self._n = _check_same_events(self._src, "inputs and targets")

    @property
    def path(self) -> str:
        return self._src.path

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(f"{self.path}: event {i} out of range ({self._n} events)")
        out = {}
        for k in self._src.keys:
            o = self._src.offsets[k]
            out[k] = torch.from_numpy(_torch_compatible(self._src.rows(k, int(o[i]), int(o[i + 1]))))
        return out

    def event_sizes(self, key: str) -> np.ndarray:
        """Rows per event of `key` (e.g. to bucket events of similar size)."""
        return np.diff(self._src.offsets[key])


def collate_events(
    items: Sequence[Mapping[str, torch.Tensor]],
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Concatenate per-event items along the first (row) axis.

    Returns `(batch, offsets)`: `batch[key]` holds the rows of all events, `offsets[key]` (int64,
    len(items)+1) says event j owns `batch[key][offsets[key][j]:offsets[key][j+1]]`, which is how
    per-event outputs are split back. Use as `DataLoader(ds, batch_size=B, collate_fn=collate_events)`.
    """
    if not items:
        return {}, {}
    keys = list(items[0])
    for j, it in enumerate(items):
        if list(it) != keys:
            raise KeyError(f"collate_events: item {j} has keys {list(it)}, item 0 has {keys}")
    batch, offsets = {}, {}
    for k in keys:
        parts = [it[k] for it in items]
        sizes = torch.tensor([0] + [p.shape[0] if p.dim() else 1 for p in parts], dtype=torch.int64)
        offsets[k] = torch.cumsum(sizes, 0)
        batch[k] = torch.cat([p.reshape(1) if p.dim() == 0 else p for p in parts], dim=0)
    return batch, offsets


class HDF5RowDataset(Dataset):
    """One object (row) per item, rows concatenated over events: `(inputs_row, targets_row)`.

    All keys must slice events the same way (same offsets), e.g. per-particle features from a
    Tensor group and the PDG column of the matching collection. `inputs_row` is the concatenation
    of the input keys' row values as `dtype` (float32). `targets_row` is the single target's row in
    its own dtype (a class label stays integer), or the concatenation as `dtype` for several
    targets. The whole selection is read into memory by default (per-row file reads are slow).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        inputs: Sequence[str],
        targets: Sequence[str],
        *,
        dtype: torch.dtype = torch.float32,
        in_memory: bool = True,
    ) -> None:
        self.inputs = list(inputs)
        self.targets = list(targets)
        if not self.inputs:
            raise ValueError("HDF5RowDataset needs at least one input key")
        self.dtype = dtype
        self._src = _Source(path, self.inputs + self.targets, in_memory)
        _check_same_events(self._src, "inputs and targets")
        ref_key = self.inputs[0]
        ref = self._src.offsets[ref_key]
        for k in self._src.keys[1:]:
            if not np.array_equal(self._src.offsets[k], ref):
                raise ValueError(
                    f"{self.path}: {k!r} and {ref_key!r} have different rows per event; a row dataset needs "
                    "keys that describe the same objects"
                )
        self.offsets = ref
        self._n = int(ref[-1]) if len(ref) else 0

    @property
    def path(self) -> str:
        return self._src.path

    def __len__(self) -> int:
        return self._n

    def event_of(self, row: int) -> int:
        """The event a row belongs to."""
        return int(np.searchsorted(self.offsets, row, side="right") - 1)

    def _row(self, key: str, i: int) -> np.ndarray:
        return _torch_compatible(self._src.rows(key, i, i + 1)[0])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(f"{self.path}: row {i} out of range ({self._n} rows)")
        x = torch.cat([torch.as_tensor(self._row(k, i)).reshape(-1).to(self.dtype) for k in self.inputs])
        if len(self.targets) == 1:
            y = torch.as_tensor(self._row(self.targets[0], i))
        elif self.targets:
            y = torch.cat([torch.as_tensor(self._row(k, i)).reshape(-1).to(self.dtype) for k in self.targets])
        else:
            y = torch.zeros(0, dtype=self.dtype)
        return x, y


def read_event(path: str | os.PathLike, name: str, i: int) -> dict[str, np.ndarray]:
    """Rebuild event `i` of group `name`: every dataset's rows of that event.

    For a collection: `{column: values}` for its XData columns (the `_begin`/`_end` columns index
    the event's own vector/relation rows, as in podio), vector members and relation
    `.index`/`.collectionID`. For a Tensor or array group: `{"data": rows}`.
    """
    import h5py

    path = os.fspath(path)
    with h5py.File(path, "r") as f:
        g = f.get(name)
        if not isinstance(g, h5py.Group) or _OFFSETS not in g:
            groups = [k for k, v in f.items() if isinstance(v, h5py.Group) and _OFFSETS in v]
            raise KeyError(f"{path}: no collection {name!r}; available: {', '.join(sorted(groups)) or '(none)'}")
        n = g[_OFFSETS].shape[0] - 1
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"{path}: {name} has {n} events; no event {i}")
        out: dict[str, np.ndarray] = {}
        for k, d in g.items():
            role = d.attrs.get("role")
            if role in (None, "offsets"):
                continue
            o = g[str(d.attrs["offsets"])]
            b, e = (int(x) for x in o[i : i + 2])
            out[k] = d[b:e]
        if g.attrs.get("kind") in ("tensor", "array") and "data" not in out:
            trailing = tuple(int(x) for x in g.attrs.get("trailing_shape", ()))
            out["data"] = np.zeros((0, *trailing), dtype=str(g.attrs.get("dtype", "float32")))
        return out


__all__ = ["HDF5EventDataset", "HDF5RowDataset", "collate_events", "read_event"]
