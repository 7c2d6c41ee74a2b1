"""Round trip: a frame holding every datamodel type (Tensor, links, UserData included) written by our
Writer and read back by our Reader, by uproot and by ROOT (RDataFrame on split branches)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from test_io_real_files import PODIO17, collection_columns, leaf_paths

N = 3  # elements per collection
EVENTS = 3


def _target(colls: dict, type_name: str, interfaces: dict):
    """A collection to point a relation of type `type_name` at (first concrete type of an interface)."""
    if type_name in interfaces:
        type_name = next(t for t in interfaces[type_name].types if t in colls)
    return colls[type_name][1]


def make_frame(event: int):
    """One frame: N elements of every datatype and link, relations between them, UserData, a Tensor."""
    import cppyy

    from k4mlinference import edm
    from k4mlinference.edm import loader, tensor
    from k4mlinference.io import Frame

    edm.load()
    rng = np.random.default_rng(event)
    frame = Frame()
    colls: dict[str, tuple[str, object, object]] = {}
    interfaces = {}
    for dm in loader.loaded().values():
        interfaces.update(dm.interfaces)
        for dt in dm.datatypes.values():
            c = edm.collection_class(dt.cpp_collection)()
            for _ in range(N):
                c._cpp_create()
            name = dt.bare_name + ("" if dt.link else "s")
            frame.put(c, name)
            colls[dt.name] = (name, c, dt)
    for _, c, dt in colls.values():
        for i in range(N):
            h = c.mutableAt(i)
            for vm in dt.vector_members:
                adder = getattr(h, "_cpp_addTo" + vm.name[0].upper() + vm.name[1:])
                for k in range(i + 1):
                    if vm.type in ("float", "double") or vm.type.startswith(("int", "uint")):
                        adder(10 * i + k + event)
                    else:
                        comp = getattr(cppyy.gbl.edm4hep, vm.type.split("::")[-1])()
                        if hasattr(comp, "D0"):
                            comp.D0 = float(i + k + event)
                        adder(comp)
            for r in dt.one_to_many:
                target = _target(colls, r.type, interfaces)
                adder = getattr(h, "_cpp_addTo" + r.name[0].upper() + r.name[1:])
                for k in range(i % 2 + 1):
                    adder(target[(i + k) % N].getObjectID())
            for r in dt.one_to_one:
                if i == N - 1:
                    continue  # leave one unset: written as {invalid, 0}
                target = _target(colls, r.type, interfaces)
                getattr(h, "set" + r.name[0].upper() + r.name[1:])(target[(i + 1) % N].getObjectID())
    for _, c, _ in colls.values():
        d = c.data_view()
        for path, sub in leaf_paths(d.dtype):
            if path.endswith(("_begin", "_end")):
                continue
            col = d
            for p in path.split("."):
                col = col[p]
            base = sub.base if sub.shape else sub
            vals = rng.integers(0, 100, size=col.shape) if base.kind in "iub" else rng.normal(size=col.shape)
            col[...] = vals.astype(base)
        del d
    uf = cppyy.gbl.k4ml.UserDataCollection["float"]()
    ui = cppyy.gbl.k4ml.UserDataCollection["int32_t"]()
    ud = cppyy.gbl.k4ml.UserDataCollection["double"]()
    for k in range(4 + event):
        uf.push_back(0.5 * k)
        ui.push_back(-k)
        ud.push_back(1e-3 * k)
    frame.put(uf, "UserFloats")
    frame.put(ui, "UserInts")
    frame.put(ud, "UserDoubles")
    frame.put(tensor.from_array(np.arange(6 * (event + 1), dtype=np.float32).reshape(-1, 3)), "InputTensor")
    frame.putParameter("event", event)
    frame.putParameter("weights", [0.5, 1.5])
    frame.putParameter("tag", "round trip")
    frame.putParameter("tags", ["a", "b"])
    return frame


def all_columns(frame) -> dict[str, np.ndarray]:
    out = {}
    for name in frame.getAvailableCollections():
        c = frame.get(name)
        c._test_name = name
        out.update(collection_columns(c))
    return out


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, list]:
    from k4mlinference.io import Writer

    path = tmp_path_factory.mktemp("rt") / "all_types.root"
    frames = [make_frame(e) for e in range(EVENTS)]
    with Writer(path) as w:
        for f in frames:
            w.write_frame(f, "events")
        run = type(frames[0])()
        run.putParameter("run", 7)
        w.write_frame(run, "runs")
    return path, frames


def test_roundtrip_our_reader(written) -> None:
    from k4mlinference.edm import tensor
    from k4mlinference.io import Reader

    path, frames = written
    reader = Reader(path)
    assert reader.categories == ["events", "runs"]
    back = reader.get("events")
    assert len(back) == EVENTS
    for f, g in zip(frames, back):
        assert sorted(g.getAvailableCollections()) == sorted(f.getAvailableCollections())
        a, b = all_columns(f), all_columns(g)
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
        assert g.parameters == {
            "event": f.parameters["event"],
            "weights": [0.5, 1.5],
            "tag": "round trip",
            "tags": ["a", "b"],
        }
        np.testing.assert_array_equal(tensor.as_array(g.get("InputTensor")), tensor.as_array(f.get("InputTensor")))
    assert reader.get("runs")[0].getParameter("run") == 7


def test_roundtrip_relations_resolve(written) -> None:
    from k4mlinference.io import Reader

    path, _ = written
    frame = Reader(path).get("events")[1]
    mc = frame.get("MCParticles")
    assert mc[0].getParents()[0] == mc[0] and mc[1].getParents()[0] == mc[1]  # (i + k) % N
    assert [p.getIndex() for p in mc[1].getDaughters()] == [1, 2]
    hits = frame.get("SimCalorimeterHits")
    contrib = hits[0].getContributions()[0]
    assert contrib.getCollection().getID() == frame.get("CaloHitContributions").getID()
    assert contrib.getParticle() == frame.get("MCParticles")[int(contrib.getIndex() + 1) % N]
    link = frame.get("RecoMCParticleLink")[0]
    assert link.getFrom() == frame.get("ReconstructedParticles")[1]
    assert link.getTo() == frame.get("MCParticles")[1]
    assert frame.get("RecoMCParticleLink")[N - 1].getFrom() is None  # unset: {invalid, 0}
    track = frame.get("Tracks")[0]
    assert track.getTrackerHits()[0].getCollection().getID() == frame.get("TrackerHit3Ds").getID()  # interface


def test_roundtrip_uproot(written) -> None:
    uproot = pytest.importorskip("uproot")
    path, frames = written
    f = uproot.open(path)
    tree = f["events"]
    keys = set(tree.keys())
    for e, frame in enumerate(frames):
        for k, ours in all_columns(frame).items():
            assert k in keys, k
            theirs = np.asarray(tree[k].array(library="np")[e])
            np.testing.assert_array_equal(ours, theirs.astype(ours.dtype), err_msg=k)
    # branch layout: collections case-insensitively sorted, their relation/vector branches, then GP*
    top = [k for k in tree.keys() if "/" not in k]
    colls = [k for k in top if not k.startswith(("_", "GP"))]
    assert colls == sorted(colls, key=str.lower)
    assert top[-8:] == [
        "GPIntKeys",
        "GPIntValues",
        "GPFloatKeys",
        "GPFloatValues",
        "GPDoubleKeys",
        "GPDoubleValues",
        "GPStringKeys",
        "GPStringValues",
    ]
    assert top.index("_MCParticles_parents") == top.index("MCParticles") + 1
    assert top.index("_MCParticles_daughters") == top.index("MCParticles") + 2
    assert tree["UserInts"].typename == "std::vector<int32_t>"
    assert tree["InputTensor"].typename.endswith("vector<edm4eic::TensorData>")
    assert tree["RecoMCParticleLink"].typename.endswith("vector<podio::LinkData>")
    assert tree["GPStringKeys"].array(library="np")[0].tolist() == ["tag", "tags"]
    md = f["podio_metadata"]
    assert [k for k in md.keys() if "/" not in k] == [
        "events___CollectionTypeInfo",
        "runs___CollectionTypeInfo",
        "PodioBuildVersion",
        "EDMDefinitions",
        "edm4hep___Version",
    ]
    info = md["events___CollectionTypeInfo"].arrays(library="np")
    names = list(info["events___CollectionTypeInfo.name"][0])
    types = dict(zip(names, info["events___CollectionTypeInfo.dataType"][0]))
    ids = dict(zip(names, info["events___CollectionTypeInfo.collectionID"][0]))
    storage = dict(zip(names, info["events___CollectionTypeInfo.storageType"][0]))
    schema = dict(zip(names, info["events___CollectionTypeInfo.schemaVersion"][0]))
    from k4mlinference.edm.murmur import collection_id

    assert all(int(ids[n]) == collection_id(n) for n in names)
    assert types["MCParticles"] == "edm4hep::MCParticleCollection" and schema["MCParticles"] == 6
    assert types["RecoMCParticleLink"] == "podio::LinkCollection<edm4hep::ReconstructedParticle,edm4hep::MCParticle>"
    assert storage["RecoMCParticleLink"] == "std::vector<podio::LinkData>" and schema["RecoMCParticleLink"] == 1
    assert types["UserInts"] == "podio::UserDataCollection<int32_t>" and storage["UserInts"] == "std::vector<int32_t>"
    assert types["InputTensor"] == "edm4eic::TensorCollection" and schema["InputTensor"] == 890
    v = md["PodioBuildVersion"].arrays(library="np")
    assert (int(v["major"][0]), int(v["minor"][0]), int(v["patch"][0])) == (1, 7, 0)


def test_roundtrip_root_rdataframe_and_tfile(written) -> None:
    import cppyy
    import ROOT

    path, frames = written
    df = ROOT.RDataFrame("events", str(path))
    cols = [
        "MCParticles.PDG",
        "MCParticles.momentum.x",
        "_MCParticles_parents.index",
        "UserFloats",
        "EventHeaders.eventNumber",
    ]
    arrs = df.AsNumpy(cols)
    for e, frame in enumerate(frames):
        mc = frame.get("MCParticles")
        np.testing.assert_array_equal(np.asarray(arrs["MCParticles.PDG"][e]), mc.view("PDG"))
        np.testing.assert_array_equal(np.asarray(arrs["MCParticles.momentum.x"][e]), mc.view("momentum.x"))
        np.testing.assert_array_equal(
            np.asarray(arrs["_MCParticles_parents.index"][e]), mc.relation_view("parents")["index"]
        )
        np.testing.assert_array_equal(np.asarray(arrs["UserFloats"][e]), list(frame.get("UserFloats").vec()))
        np.testing.assert_array_equal(
            np.asarray(arrs["EventHeaders.eventNumber"][e]), frame.get("EventHeaders").view("eventNumber")
        )
    assert df.Sum("MCParticles.PDG").GetValue() == sum(int(f.get("MCParticles").view("PDG").sum()) for f in frames)
    # plain TFile/TTree with the dictionaries: the metadata reads as podio's types
    tf = ROOT.TFile.Open(str(path))
    md = tf.Get("podio_metadata")
    md.GetEntry(0)
    edm = {str(cppyy.gbl.std.get[0](t)): str(cppyy.gbl.std.get[1](t)) for t in md.EDMDefinitions}
    assert set(edm) == {"edm4hep", "edm4eic"}
    assert json.loads(edm["edm4hep"])["schema_version"] == 6
    assert "edm4eic::Tensor" in json.loads(edm["edm4eic"])["datatypes"]
    v = md.edm4hep___Version
    assert (v.major, v.minor, v.patch) == (1, 0, 0)
    ev = tf.Get("events")
    assert ev.GetBranch("MCParticles").GetSplitLevel() == 99 and ev.GetTitle() == "events data tree"
    assert ev.GetBranch("MCParticles").GetClassName() == "vector<edm4hep::MCParticleData>"
    assert ev.GetBranch("InputTensor").GetClassName() == "vector<edm4eic::TensorData>"
    assert ev.GetBranch("_MCParticles_parents").GetClassName() == "vector<podio::ObjectID>"
    assert ev.GetBranch("UserInts").GetClassName() == "vector<int>"
    assert ev.GetBranch("GPDoubleValues").GetClassName() == "vector<vector<double> >"
    assert (
        md.GetBranch("events___CollectionTypeInfo").GetClassName() == "vector<podio::root_utils::CollectionWriteInfo>"
    )
    tf.Close()


def test_rewrite_real_file_matches_original(tmp_path) -> None:
    """Read podio 1.7's all-types file and write it again: every column equal under uproot."""
    uproot = pytest.importorskip("uproot")
    if not PODIO17.exists():
        pytest.skip(f"{PODIO17} absent")
    from k4mlinference.io import Reader, Writer

    out = tmp_path / "rewritten.root"
    with Writer(out) as w:
        for frame in Reader(PODIO17).get("events"):
            w.write_frame(frame, "events")
    a, b = uproot.open(PODIO17)["events"], uproot.open(out)["events"]
    ka = [k for k in a.keys() if not k.startswith("GP")]
    assert [k for k in b.keys() if not k.startswith("GP")] == ka
    for k in ka:
        if a[k].typename.startswith("std::vector<podio::") or "/" not in k and a[k].typename.endswith("Data>"):
            continue  # split parents: their leaves are compared
        np.testing.assert_array_equal(
            np.concatenate([np.asarray(x).ravel() for x in a[k].array(library="np")] + [np.zeros(0)]),
            np.concatenate([np.asarray(x).ravel() for x in b[k].array(library="np")] + [np.zeros(0)]),
            err_msg=k,
        )
    info = {i.name: (i.id, i.type_name) for i in Reader(out).metadata[0].categories["events"]}
    assert info == {i.name: (i.id, i.type_name) for i in Reader(PODIO17).metadata[0].categories["events"]}


def test_writer_checks_frame_consistency(tmp_path) -> None:
    from k4mlinference import edm
    from k4mlinference.io import Frame, Writer

    w = Writer(tmp_path / "c.root")
    f = Frame()
    f.put(edm.edm4hep.MCParticleCollection(), "MCParticles")
    w.write_frame(f, "events")
    g = Frame()
    g.put(edm.edm4hep.MCParticleCollection(), "Other")
    with pytest.raises(
        ValueError, match="same collections as the first.*extra: \\['Other'\\].*missing: \\['MCParticles'\\]"
    ):
        w.write_frame(g, "events")
    h = Frame()
    h.put(edm.edm4hep.SimTrackerHitCollection(), "MCParticles")
    with pytest.raises(TypeError, match="edm4hep::SimTrackerHitCollection"):
        w.write_frame(h, "events")
    w.write_frame(f, "events", collections=["MCParticles"])
    w.finish()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from k4mlinference.io import Reader

        assert len(Reader(tmp_path / "c.root").get("events")) == 2


def test_read_modify_write_chain(written, tmp_path) -> None:
    """A frame read from a file, extended with a new collection (with a relation into the read
    part) and written again: the new collection and its references survive."""
    from k4mlinference import edm
    from k4mlinference.io import Reader, Writer

    path, _ = written
    out = tmp_path / "chain.root"
    with Writer(out) as w:
        for frame in Reader(path).get("events", collections=["MCParticles", "EventHeaders"]):
            mc = frame.get("MCParticles")
            reco = edm.edm4hep.ReconstructedParticleCollection()
            frame.put(reco, "Reco")
            r = reco.create(PDG=int(mc.view("PDG")[0]), energy=1.0)
            links = edm.edm4hep.RecoMCParticleLinkCollection()
            frame.put(links, "RecoLinks")
            link = links.create(weight=0.5)
            link.setFrom(r)
            link.setTo(mc[1])
            assert "Reco" in frame and frame.getAvailableCollections()[-2:] == ["Reco", "RecoLinks"]
            frame.remove("EventHeaders")
            assert "EventHeaders" not in frame.getAvailableCollections()
            w.write_frame(frame, "events")
    back = Reader(out).get("events")
    assert back[0].getAvailableCollections() == ["MCParticles", "Reco", "RecoLinks"]
    for f in back:
        link = f.get("RecoLinks")[0]
        assert link.getTo() == f.get("MCParticles")[1]
        assert link.getFrom().getPDG() == f.get("MCParticles").view("PDG")[0]


def test_parameter_types_survive_rewrite(tmp_path) -> None:
    import numpy as np
    import uproot

    from k4mlinference.io import Frame, Reader, Writer

    f = Frame()
    f.putParameter("i", 3)
    f.putParameter("f", np.float32(0.5))
    f.putParameter("d", 0.25)
    f.putParameter("s", ["x", "y"])
    with Writer(tmp_path / "a.root") as w:
        w.write_frame(f, "events")
    with Writer(tmp_path / "b.root") as w:
        w.write_frame(Reader(tmp_path / "a.root").get("events")[0], "events")
    for name in ("a.root", "b.root"):
        t = uproot.open(tmp_path / name)["events"]
        got = {
            k: t[k].array(library="np")[0].tolist()
            for k in ("GPIntKeys", "GPFloatKeys", "GPDoubleKeys", "GPStringKeys")
        }
        assert got == {"GPIntKeys": ["i"], "GPFloatKeys": ["f"], "GPDoubleKeys": ["d"], "GPStringKeys": ["s"]}
    assert Reader(tmp_path / "b.root").get("events")[0].parameters == {"i": 3, "f": 0.5, "d": 0.25, "s": ["x", "y"]}
