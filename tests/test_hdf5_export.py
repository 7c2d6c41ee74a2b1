"""HDF5 training export and the torch datasets that read it back.

Events are built deterministically from their number, so what a test expects is rebuilt from the
same generator rather than kept from the writing side (which would only test h5py against itself).
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest
import torch

from k4mlinference.edm import tensor as T
from k4mlinference.io import hdf5
from k4mlinference.io.hdf5 import HDF5Exporter, HDF5SchemaError
from k4mlinference.training import HDF5EventDataset, HDF5RowDataset, collate_events, read_event

SIZES = [3, 0, 2, 4, 1]  # particles per event; event 1 is empty
N_FEAT = 4


def _n(ev: int) -> int:
    return SIZES[ev % len(SIZES)]


def make_frame(edm, ev: int):
    """MCParticles (parents relation), Clusters (vector member, std::array member), Tracks (struct
    vector member) and a Tensor with one row of features per particle."""
    rng = np.random.default_rng(ev)
    n = _n(ev)
    mcs = edm.edm4hep.MCParticleCollection()
    first = None
    for _ in range(n):
        p = mcs.create(
            PDG=int(rng.integers(-300, 300)),
            charge=float(rng.choice([-1, 0, 1])),
            momentum=tuple(float(x) for x in rng.normal(size=3)),
            mass=float(rng.uniform()),
        )
        if first is None:
            first = p
        else:
            p.addToParents(first)
    clusters = edm.edm4hep.ClusterCollection()
    for j in range(n):
        clusters.create(energy=float(ev + j), shapeParameters=[float(x) for x in rng.normal(size=j)])
    cov = clusters.view("positionError.values")
    cov[:] = rng.normal(size=cov.shape)
    del cov
    tracks = edm.edm4hep.TrackCollection()
    for j in range(n % 3):
        t = tracks.create(chi2=float(j), subdetectorHitNumbers=[j, j + 1])
        for _ in range(j + 1):
            t.addToTrackStates(edm.edm4hep.TrackState())
    states = tracks.vector_view("trackStates")
    states["D0"] = rng.normal(size=len(states))
    states["covMatrix"]["values"] = rng.normal(size=(len(states), 21))
    del states
    feats = T.from_array(rng.normal(size=(n, N_FEAT)).astype(np.float32))
    frame = edm.Frame()
    frame.put(mcs, "MCParticles")
    frame.put(clusters, "Clusters")
    frame.put(tracks, "Tracks")
    frame.put(feats, "Features")
    return frame


@functools.cache
def expected_columns(edm, name: str, ev: int) -> dict[str, np.ndarray]:
    """What read_event must give back, taken from a freshly built frame's views (copied)."""
    coll = make_frame(edm, ev).get(name)
    out: dict[str, np.ndarray] = {}
    if name == "Features":
        return {"data": T.as_array(coll, 0).copy()}
    data = coll.data_view()
    for path, _, _ in hdf5._flatten(data.dtype):
        a = data
        for p in path:
            a = a[p]
        out[".".join(path)] = np.array(a)
    info = coll.type_info
    for v in info.vector_index:
        vv = coll.vector_view(v)
        if vv.dtype.names:
            for path, _, _ in hdf5._flatten(vv.dtype):
                a = vv
                for p in path:
                    a = a[p]
                out[".".join((v, *path))] = np.array(a)
        else:
            out[v] = vv.copy()
    for r in info.relation_names:
        rv = coll.relation_view(r)
        out[f"{r}.index"], out[f"{r}.collectionID"] = rv["index"].copy(), rv["collectionID"].copy()
    return out


def write_run(edm, path, events, mode="a", source="test"):
    with HDF5Exporter(
        path, collections=["MCParticles", "Clusters", "Tracks", "Features"], mode=mode, source=source
    ) as ex:
        for ev in events:
            ex.write_frame(make_frame(edm, ev))
            n = _n(ev)
            ex.write_arrays({"target": np.full(n, ev, dtype=np.int64), "weight": np.float32(ev)})


@pytest.fixture(scope="module")
def two_runs(edm, tmp_path_factory):
    path = tmp_path_factory.mktemp("h5") / "train.h5"
    write_run(edm, path, range(0, 3), source="run 1")
    write_run(edm, path, range(3, 6), source="run 2")  # reopening appends
    return path


EVENTS = range(6)


def test_two_runs_read_back_by_h5py(edm, two_runs):
    with h5py.File(two_runs, "r") as f:
        assert f.attrs["format"] == hdf5.FORMAT
        assert f.attrs["k4mlinference_version"] == __import__("k4mlinference").__version__
        assert f.attrs["source"] == "run 1"
        hist = list(f.attrs["history"])
        assert len(hist) == 2 and "created" in hist[0] and hist[1].endswith("appended by k4mlinference 0.1.0: run 2")
        for name in ("MCParticles", "Clusters", "Tracks", "Features", "target", "weight"):
            assert f[name]["offsets"].shape == (len(EVENTS) + 1,), name
        off = f["MCParticles/offsets"][:]
        np.testing.assert_array_equal(off, np.concatenate([[0], np.cumsum([_n(e) for e in EVENTS])]))
        # concatenated columns equal the per-event values
        for col in (
            "PDG",
            "momentum.x",
            "momentum.z",
            "mass",
            "parents_begin",
            "parents.index",
            "parents.collectionID",
        ):
            want = np.concatenate([expected_columns(edm, "MCParticles", e)[col] for e in EVENTS])
            np.testing.assert_array_equal(f["MCParticles"][col][:], want, err_msg=col)
        assert f["MCParticles/momentum.x"].dtype == np.float64 and f["MCParticles/PDG"].dtype == np.int32
        # std::array member as a 2-D column, vector member flat with its own offsets
        assert f["Clusters/positionError.values"].shape == (off[-1], 6)
        want = np.concatenate([expected_columns(edm, "Clusters", e)["positionError.values"] for e in EVENTS])
        np.testing.assert_array_equal(f["Clusters/positionError.values"][:], want)
        sp = f["Clusters/shapeParameters"]
        assert sp.attrs["role"] == "vector" and sp.attrs["offsets"] == "shapeParameters.offsets"
        assert f["Clusters/shapeParameters.offsets"][-1] == sp.shape[0] == sum(sum(range(_n(e))) for e in EVENTS) > 0
        # struct vector members flattened, std::array inside them 2-D
        assert f["Tracks/trackStates.covMatrix.values"].shape[1:] == (21,)
        assert "Tracks/trackStates.referencePoint.x" in f
        # tensors: 2-D data, attributes
        g = f["Features"]
        assert g.attrs["kind"] == "tensor" and g.attrs["elementType"] == T.FLOAT and g.attrs["dtype"] == "float32"
        assert tuple(g.attrs["trailing_shape"]) == (N_FEAT,)
        assert g["data"].shape == (off[-1], N_FEAT)
        np.testing.assert_array_equal(g["offsets"][:], off)
        # chunked, compressed, resizable
        for d in (f["MCParticles/momentum.x"], g["data"], f["Clusters/shapeParameters"]):
            assert d.chunks is not None and d.compression == "gzip" and d.maxshape[0] is None
        np.testing.assert_array_equal(f["weight/data"][:], np.arange(len(EVENTS), dtype=np.float32))


@pytest.mark.parametrize("name", ["MCParticles", "Clusters", "Tracks", "Features"])
def test_read_event_rebuilds_every_event(edm, two_runs, name):
    for ev in EVENTS:
        got = read_event(two_runs, name, ev)
        want = expected_columns(edm, name, ev) if _n(ev) or name != "Features" else {"data": np.zeros((0, N_FEAT))}
        assert sorted(got) == sorted(want), (name, ev)
        for k in want:
            np.testing.assert_array_equal(got[k], want[k], err_msg=f"{name} event {ev} {k}")
    # begin/end stay local to the event, so they index the event's own vector rows
    ev = 3
    got = read_event(two_runs, "Clusters", ev)
    for j in range(_n(ev)):
        b, e = got["shapeParameters_begin"][j], got["shapeParameters_end"][j]
        assert e - b == j
    assert read_event(two_runs, "MCParticles", 1)["PDG"].shape == (0,)  # empty event


def test_event_dataset_and_collate(edm, two_runs):
    ds = HDF5EventDataset(two_runs, inputs=["Features", "MCParticles/momentum.x"], targets=["target"])
    assert len(ds) == len(EVENTS)
    for ev in EVENTS:
        item = ds[ev]
        assert set(item) == {"Features", "MCParticles/momentum.x", "target"}
        assert item["Features"].shape == (_n(ev), N_FEAT) and item["Features"].dtype == torch.float32
        np.testing.assert_array_equal(
            item["Features"].numpy(), expected_columns(edm, "Features", ev)["data"] if _n(ev) else np.zeros((0, N_FEAT))
        )
        np.testing.assert_array_equal(item["target"].numpy(), np.full(_n(ev), ev))
    loader = torch.utils.data.DataLoader(ds, batch_size=3, collate_fn=collate_events)
    batches = list(loader)
    assert len(batches) == 2
    batch, offsets = batches[0]
    np.testing.assert_array_equal(offsets["Features"].numpy(), [0, 3, 3, 5])
    assert batch["Features"].shape == (5, N_FEAT)
    for j in range(3):
        o = offsets["target"]
        np.testing.assert_array_equal(batch["target"][o[j] : o[j + 1]].numpy(), ds[j]["target"].numpy())
    # worker processes open their own HDF5 handle
    workers = torch.utils.data.DataLoader(ds, batch_size=3, collate_fn=collate_events, num_workers=2)
    for (b1, o1), (b2, o2) in zip(workers, batches, strict=True):
        assert all(torch.equal(b1[k], b2[k]) and torch.equal(o1[k], o2[k]) for k in b1)
    # in-memory mode gives the same items
    mem = HDF5EventDataset(two_runs, inputs=["Features"], targets=["target"], in_memory=True)
    for ev in EVENTS:
        assert torch.equal(mem[ev]["Features"], ds[ev]["Features"])


def test_row_dataset(edm, two_runs):
    ds = HDF5RowDataset(two_runs, inputs=["Features", "MCParticles/momentum.x"], targets=["MCParticles/PDG"])
    n_rows = sum(_n(e) for e in EVENTS)
    assert len(ds) == n_rows
    feats = np.concatenate([expected_columns(edm, "Features", e)["data"] for e in EVENTS if _n(e)])
    pdg = np.concatenate([expected_columns(edm, "MCParticles", e)["PDG"] for e in EVENTS])
    px = np.concatenate([expected_columns(edm, "MCParticles", e)["momentum.x"] for e in EVENTS])
    for i in range(n_rows):
        x, y = ds[i]
        assert x.shape == (N_FEAT + 1,) and x.dtype == torch.float32
        np.testing.assert_allclose(x.numpy(), np.append(feats[i], px[i]).astype(np.float32))
        assert y.dtype == torch.int32 and int(y) == pdg[i]
    assert ds.event_of(0) == 0 and ds.event_of(3) == 2  # event 1 is empty
    lazy = HDF5RowDataset(two_runs, inputs=["Features"], targets=["MCParticles/PDG", "target"], in_memory=False)
    x, y = lazy[4]
    assert y.dtype == torch.float32 and y.tolist() == [float(pdg[4]), 2.0]  # row 4 is in event 2
    xb, yb = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert xb.shape == (4, N_FEAT + 1) and yb.shape == (4,)
    with pytest.raises(ValueError, match="different rows per event"):
        HDF5RowDataset(two_runs, inputs=["Features"], targets=["Clusters/shapeParameters"])


def test_unknown_names(edm, two_runs, tmp_path):
    with pytest.raises(KeyError, match=r"no 'Nope' in the export; available: .*Features.*MCParticles/PDG"):
        HDF5EventDataset(two_runs, inputs=["Nope"])
    with pytest.raises(KeyError, match="is a collection; name one of its columns: MCParticles/"):
        HDF5EventDataset(two_runs, inputs=["MCParticles"])
    with pytest.raises(KeyError, match=r"no collection 'Nope'; available: Clusters, Features, MCParticles, Tracks"):
        read_event(two_runs, "Nope", 0)
    with pytest.raises(IndexError, match="6 events; no event 6"):
        read_event(two_runs, "Features", 6)
    path = tmp_path / "x.h5"
    with HDF5Exporter(path) as ex:
        with pytest.raises(
            KeyError, match=r"no collection 'Missing' in the frame; available: Clusters, Features, MCParticles, Tracks"
        ):
            ex.write_frame(make_frame(edm, 0), collections=["MCParticles", "Missing"])
        ex.write_frame(make_frame(edm, 0), collections=["MCParticles"])
    # nothing of the refused event was written
    assert hdf5.describe(path)["MCParticles"]["n_events"] == 1


def test_default_writes_every_collection_and_empty_first_tensor(edm, tmp_path):
    path = tmp_path / "all.h5"
    with HDF5Exporter(path, mode="w", compression="lzf") as ex:
        f = edm.Frame()
        f.put(edm.edm4eic.TensorCollection(), "Out")  # no tensor in the first event
        f.put(edm.edm4hep.MCParticleCollection(), "MCParticles")
        ex.write_frame(f)
        f = edm.Frame()
        f.put(T.from_array(np.arange(6, dtype=np.int64).reshape(2, 3)), "Out")
        f.put(edm.edm4hep.MCParticleCollection(), "MCParticles")
        ex.write_frame(f)
    info = hdf5.describe(path)
    assert info["Out"]["n_events"] == info["MCParticles"]["n_events"] == 2
    with h5py.File(path) as h:
        assert h["Out/data"].compression == "lzf" and h["Out"].attrs["elementType"] == T.INT64
        assert h["MCParticles/PDG"].shape == (0,)
    np.testing.assert_array_equal(read_event(path, "Out", 0)["data"], np.zeros((0, 3)))
    np.testing.assert_array_equal(read_event(path, "Out", 1)["data"], np.arange(6).reshape(2, 3))
    ds = HDF5EventDataset(path, inputs=["Out"])
    assert ds[0]["Out"].shape == (0, 3) and ds[1]["Out"].dtype == torch.int64


def test_schema_mismatch_on_append(edm, tmp_path):
    path = tmp_path / "s.h5"
    with HDF5Exporter(path) as ex:
        ex.write_arrays({"y": np.zeros(2, np.int64)})
        ex.write_frame(make_frame(edm, 0), collections=["MCParticles"])
    with HDF5Exporter(path) as ex:
        with pytest.raises(HDF5SchemaError, match=rf"{path}: dataset /y/data holds int64, cannot append float32"):
            ex.write_arrays({"y": np.zeros(2, np.float32)})
        other = edm.Frame()
        other.put(edm.edm4hep.ClusterCollection(), "MCParticles")
        with pytest.raises(
            HDF5SchemaError,
            match=rf"{path}: group /MCParticles holds podio_type=edm4hep::MCParticleCollection, cannot append "
            "podio_type=edm4hep::ClusterCollection",
        ):
            ex.write_frame(other)
    with h5py.File(path, "r+") as f:  # a file written by an older layout: one column changed type
        del f["MCParticles/mass"]
        f["MCParticles"].create_dataset("mass", data=np.zeros(3, np.float32), maxshape=(None,))
        f["MCParticles/mass"].attrs.update({"role": "column", "offsets": "offsets"})
    with HDF5Exporter(path) as ex:
        with pytest.raises(HDF5SchemaError, match=rf"{path}: dataset /MCParticles/mass is float32 .* gives float64"):
            ex.write_frame(make_frame(edm, 0), collections=["MCParticles"])
    plain = tmp_path / "plain.h5"
    h5py.File(plain, "w").close()
    with pytest.raises(HDF5SchemaError, match=rf"{plain} is not a k4mlinference HDF5 export"):
        HDF5Exporter(plain)


def test_tensor_trailing_shape_mismatch(edm, tmp_path):
    path = tmp_path / "t.h5"
    frame = edm.Frame()
    frame.put(T.from_array(np.zeros((2, 4), np.float32)), "Features")
    with HDF5Exporter(path) as ex:
        ex.write_frame(frame)
        bad = edm.Frame()
        bad.put(edm.edm4hep.MCParticleCollection(), "MCParticles")
        bad.put(T.from_array(np.zeros((2, 5), np.float32)), "Features")
        with pytest.raises(T.TensorError, match=r"/Features/data has rows of shape \(4,\).*shape \(2, 5\)"):
            ex.write_frame(bad)
        with pytest.raises(T.TensorError, match="holds 2 tensors in one event"):
            two = edm.Frame()
            two.put(T.from_array(np.zeros((1, 4), np.float32), np.zeros((1, 4), np.float32)), "Features")
            ex.write_frame(two)
    # the refused event wrote nothing, not even the valid MCParticles
    assert "MCParticles" not in hdf5.describe(path)
    with HDF5Exporter(path) as ex:  # across runs too, and for plain arrays
        with pytest.raises(T.TensorError, match=r"rows of shape \(4,\)"):
            ex.write_frame(bad, collections=["Features"])
        ex.write_arrays({"a": np.zeros((3, 2))})
        with pytest.raises(T.TensorError, match=r"/a/data has rows of shape \(2,\)"):
            ex.write_arrays({"a": np.zeros((3, 2, 1))})


def test_unwritable_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"cannot create .*nodir/x.h5: directory .*nodir does not exist"):
        HDF5Exporter(tmp_path / "nodir" / "x.h5")
    afile = tmp_path / "afile"
    afile.write_text("")
    with pytest.raises(NotADirectoryError, match=r"cannot create .*afile/x.h5: .*afile is not a directory"):
        HDF5Exporter(afile / "x.h5")
    existing = tmp_path / "e.h5"
    HDF5Exporter(existing).close()
    with pytest.raises(FileExistsError, match="exists"):
        HDF5Exporter(existing, mode="x")
    text = tmp_path / "notes.txt"
    text.write_text("not an HDF5 file\n" * 100)
    with pytest.raises(OSError, match=r"cannot open .*notes.txt to append"):
        HDF5Exporter(text)
    # a directory nobody may write to (sysfs refuses even root; chmod would not stop root)
    if not os.path.isdir("/sys/kernel"):
        pytest.skip("needs Linux sysfs for a directory that refuses file creation")
    with pytest.raises(
        PermissionError, match=r"cannot create /sys/kernel/x.h5 \(temporary file /sys/kernel/\.x\.h5\.tmp-"
    ):
        HDF5Exporter("/sys/kernel/x.h5")


def test_temporary_name_then_rename(edm, tmp_path):
    path = tmp_path / "new.h5"
    ex = HDF5Exporter(path, mode="w")
    ex.write_arrays({"a": np.ones(3)})
    assert not path.exists()
    tmps = [p.name for p in tmp_path.iterdir()]
    assert len(tmps) == 1 and tmps[0].startswith(".new.h5.tmp-")
    ex.close()
    assert path.exists() and [p.name for p in tmp_path.iterdir()] == ["new.h5"]
    # an exception inside the with-block discards the new file
    with pytest.raises(RuntimeError):
        with HDF5Exporter(tmp_path / "aborted.h5") as ex:
            ex.write_arrays({"a": np.ones(3)})
            raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.h5"]
    # mode "w" replaces an existing file only at close
    ex = HDF5Exporter(path, mode="w")
    ex.write_arrays({"b": np.ones(2)})
    assert "a" in hdf5.describe(path)
    ex.close()
    assert list(hdf5.describe(path)) == ["b"]


def test_crash_before_close_leaves_no_final_file(tmp_path):
    path = tmp_path / "crash.h5"
    code = textwrap.dedent(
        f"""
        import os, numpy as np
        from k4mlinference.io.hdf5 import HDF5Exporter
        ex = HDF5Exporter({str(path)!r})
        for i in range(5):
            ex.write_arrays({{"x": np.arange(i, dtype=np.float32)}})
        ex._file.flush()
        os._exit(0)
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert not path.exists()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert len(leftovers) == 1 and leftovers[0].startswith(".crash.h5.tmp-")


def test_interrupted_append_is_trimmed(tmp_path):
    path = tmp_path / "i.h5"
    with HDF5Exporter(path) as ex:
        ex.write_arrays({"x": np.arange(3.0)})
    with h5py.File(path, "r+") as f:  # rows written, offsets never committed
        f["x/data"].resize((7,))
        f["x/data"][3:] = 99
    with HDF5Exporter(path) as ex:
        ex.write_arrays({"x": np.arange(2.0)})
    with h5py.File(path) as f:
        np.testing.assert_array_equal(f["x/data"][:], [0, 1, 2, 0, 1])
        np.testing.assert_array_equal(f["x/offsets"][:], [0, 3, 5])


def test_strided_columns_reach_hdf5_without_a_python_copy(edm, tmp_path, monkeypatch):
    coll = edm.edm4hep.ClusterCollection()
    for j in range(5):
        coll.create(energy=float(j))
    cov = coll.view("positionError.values")
    cov[:] = np.arange(30).reshape(5, 6)
    energy = coll.view("energy")
    assert not energy.flags.c_contiguous and not cov.flags.c_contiguous

    def no_copy(*a, **k):
        raise AssertionError("strided column was copied")

    monkeypatch.setattr(hdf5.np, "ascontiguousarray", no_copy)
    with h5py.File(tmp_path / "s.h5", "w") as f:
        d1 = f.create_dataset("e", shape=(7,), maxshape=(None,), dtype="f4", chunks=(4,))
        d2 = f.create_dataset("c", shape=(6, 6), maxshape=(None, 6), dtype="f4", chunks=(4, 6))
        hdf5._write_rows(d1, 2, energy)
        hdf5._write_rows(d2, 1, cov)
        np.testing.assert_array_equal(d1[2:], np.arange(5.0))
        np.testing.assert_array_equal(d2[1:], np.arange(30).reshape(5, 6))
    del cov, energy


def test_collate_events_scalars_and_mismatched_keys():
    items = [{"a": torch.ones(2, 3), "w": torch.tensor(1.0)}, {"a": torch.zeros(0, 3), "w": torch.tensor(2.0)}]
    batch, offsets = collate_events(items)
    assert batch["a"].shape == (2, 3) and offsets["a"].tolist() == [0, 2, 2]
    assert batch["w"].tolist() == [1.0, 2.0] and offsets["w"].tolist() == [0, 1, 2]
    with pytest.raises(KeyError, match="item 1 has keys"):
        collate_events([{"a": torch.ones(1)}, {"b": torch.ones(1)}])
    assert collate_events([]) == ({}, {})


def test_userdata_links_torch_arrays_and_event_count_mismatch(edm, tmp_path):
    path = tmp_path / "misc.h5"
    u = edm.collection_class("podio::UserDataCollection<float>")()
    for x in (1.5, 2.5):
        u.push_back(x)
    frame = edm.Frame()
    frame.put(u, "weights")
    frame.put(edm.edm4hep.RecoMCParticleLinkCollection(), "links")
    with HDF5Exporter(path) as ex:
        ex.write_frame(frame)
        ex.write_collection("weights", u)
        ex.write_arrays({"t": torch.ones(2, 3)})
    np.testing.assert_array_equal(read_event(path, "weights", 1)["values"], np.array([1.5, 2.5], np.float32))
    assert set(read_event(path, "links", 0)) == {
        "weight",
        "from.index",
        "from.collectionID",
        "to.index",
        "to.collectionID",
    }
    assert read_event(path, "t", 0)["data"].dtype == np.float32
    with pytest.raises(ValueError, match=r"do not have the same number of events: weights/values=2, t=1"):
        HDF5EventDataset(path, inputs=["weights/values"], targets=["t"])
