"""podio subset collections: references to objects of other collections, in memory and on disk.

On disk a subset collection `C` is a single branch `C_objIdx` (podio < 0.17: `C#0`) of
`vector<podio::ObjectID>`, listed in podio_metadata with isSubset = true and the normal collection
type. Files are written by our Writer and, independently of it, by plain ROOT in podio's layouts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

MC_TYPE = "edm4hep::MCParticleCollection"


def _mc_frame(event: int, picks: list[int]):
    """MCParticles (PDG = 100*event + i, with parents) and a subset `Selected` of `picks`."""
    from k4mlinference import edm

    mc = edm.edm4hep.MCParticleCollection()
    for i in range(5):
        mc.create(PDG=100 * event + i, momentum=(0.0, 0.0, 1.0 + i))
    mc.mutableAt(3).addToParents(mc[1])
    sub = edm.subset_collection(MC_TYPE)
    for i in picks:
        sub.append(mc[i])
    frame = edm.Frame()
    frame.put(sub, "Selected")  # before the collection it points into: references are remapped
    frame.put(mc, "MCParticles")
    return frame


def test_subset_collection_in_memory(edm) -> None:
    mc = edm.edm4hep.MCParticleCollection()
    for i in range(4):
        mc.create(PDG=i)
    sub = edm.subset_collection(MC_TYPE)
    assert sub.isSubsetCollection() and not mc.isSubsetCollection()
    assert sub.getTypeName() == MC_TYPE and sub.getValueTypeName() == "edm4hep::MCParticle"
    sub.append(mc[2])
    sub.append(mc.mutableAt(0))
    # resolved before any frame, through the collection the objects came from
    assert len(sub) == 2 and [p.getPDG() for p in sub] == [2, 0]
    assert sub[0] == mc[2] and sub[-1] == mc[0] and type(sub[0]) is type(mc[2])
    frame = edm.Frame()
    frame.put(mc, "MCParticles")
    frame.put(sub, "Sub")
    ids = sub.object_ids()
    assert ids.dtype.names == ("index", "collectionID")
    np.testing.assert_array_equal(ids["index"], [2, 0])
    assert (ids["collectionID"] == mc.getID()).all()
    with pytest.raises(edm.ViewInvalidatedError):
        sub.append(mc[1])
    del ids
    sub.append(mc[1])
    assert [p.getPDG() for p in sub] == [2, 0, 1] and sub[2] == mc[1]
    with pytest.raises(IndexError):
        sub[3]
    with pytest.raises(TypeError, match="cannot append"):
        sub.append(edm.edm4hep.ClusterCollection().create())


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    from k4mlinference.io import Writer

    path = tmp_path_factory.mktemp("subset") / "subset.root"
    with Writer(path) as w:
        for event, picks in enumerate([[3, 1], [], [0, 4, 4]]):
            w.write_frame(_mc_frame(event, picks), "events")
    return path


def test_subset_roundtrip_our_reader(written: Path) -> None:
    from k4mlinference.io import Reader

    r = Reader(written)
    info = {i.name: i for i in r.metadata[0].categories["events"]}["Selected"]
    assert info.is_subset and info.type_name == MC_TYPE
    assert info.storage_type == "std::vector<podio::ObjectID>"
    for event, picks in enumerate([[3, 1], [], [0, 4, 4]]):
        frame = r.get("events")[event]
        sub = frame.get("Selected")  # MCParticles is read only when an element is resolved
        assert sub.isSubsetCollection() and sub.getTypeName() == MC_TYPE and len(sub) == len(picks)
        assert [p.getPDG() for p in sub] == [100 * event + i for i in picks]
        mc = frame.get("MCParticles")
        assert [p == mc[i] for p, i in zip(sub, picks)] == [True] * len(picks)
        np.testing.assert_array_equal(sub.object_ids()["index"], picks)
        if 3 in picks:  # the referenced objects are full handles: their relations resolve too
            assert sub[picks.index(3)].getParents()[0] == mc[1]


def test_subset_roundtrip_uproot(written: Path) -> None:
    import uproot

    from k4mlinference.edm.murmur import collection_id

    tree = uproot.open(written)["events"]
    assert "Selected_objIdx" in tree and "Selected" not in tree
    arrays = tree.arrays(["Selected_objIdx/Selected_objIdx.index", "Selected_objIdx/Selected_objIdx.collectionID"])
    idx = arrays["Selected_objIdx/Selected_objIdx.index"].tolist()
    cid = arrays["Selected_objIdx/Selected_objIdx.collectionID"].tolist()
    assert idx == [[3, 1], [], [0, 4, 4]]
    assert cid == [[collection_id("MCParticles")] * len(i) for i in idx]


def test_subset_written_again(written: Path, tmp_path: Path) -> None:
    """A subset read from a file is written again (with its referenced collection) unchanged."""
    from k4mlinference.io import Reader, Writer

    out = tmp_path / "again.root"
    with Reader(written) as r, Writer(out) as w:
        for frame in r.get("events"):
            w.write_frame(frame, "events")
    frame = Reader(out).get("events")[2]
    assert [p.getPDG() for p in frame.get("Selected")] == [200, 204, 204]


def _plain_root_file(path: Path, legacy: bool) -> Path:
    """A podio file written with plain ROOT: podio 1.7 layout (`Sel_objIdx`, CollectionWriteInfo)
    or podio 0.16's (`Sel#0`, sequential IDs, ID table, tuple type info)."""
    import cppyy
    import ROOT

    from k4mlinference.edm import loader
    from k4mlinference.edm.murmur import collection_id
    from k4mlinference.io.native import cppyy_io

    cppyy_io()
    std, podio = cppyy.gbl.std, cppyy.gbl.podio
    mc_id = 2 if legacy else collection_id("MCParticles")
    sel_id = 1 if legacy else collection_id("Sel")
    f = ROOT.TFile(str(path), "RECREATE")
    t = ROOT.TTree("events", "events data tree")
    mc = std.vector["edm4hep::MCParticleData"]()
    parents = std.vector["podio::ObjectID"]()
    daughters = std.vector["podio::ObjectID"]()
    sel = std.vector["podio::ObjectID"]()
    t.Branch("MCParticles", mc)
    t.Branch("MCParticles#0" if legacy else "_MCParticles_parents", parents)
    t.Branch("MCParticles#1" if legacy else "_MCParticles_daughters", daughters)
    t.Branch("Sel#0" if legacy else "Sel_objIdx", sel)
    for e in range(2):
        mc.clear()
        sel.clear()
        for i in range(3):
            d = cppyy.gbl.edm4hep.MCParticleData()
            d.PDG = 10 * e + i
            mc.push_back(d)
        for i in (2, 0)[: e + 1]:
            sel.push_back(podio.ObjectID(i, mc_id))
        t.Fill()
    t.Write()
    md = ROOT.TTree("podio_metadata", "metadata tree for podio I/O functionality")
    version = podio.version.Version()
    edm_defs = std.vector["std::tuple<std::string,std::string>"]()
    edm_defs.push_back(std.make_tuple[std.string, std.string]("edm4hep", json.dumps(loader.loaded()["edm4hep"].source)))
    if legacy:
        version.major, version.minor, version.patch = 0, 16, 6
        table = podio.CollectionIDTable()
        for cid, name in ((sel_id, "Sel"), (mc_id, "MCParticles")):
            table.m_collectionIDs.push_back(cid)
            table.m_names.push_back(name)
        tup = "std::tuple<int,std::string,bool,unsigned int>"
        cti = std.vector[tup]()
        make = std.make_tuple[int, std.string, bool, "unsigned int"]
        cti.push_back(make(mc_id, MC_TYPE, False, 2))
        cti.push_back(make(sel_id, MC_TYPE, True, 2))
        md.Branch("events___idTable", table)
    else:
        version.major, version.minor, version.patch = 1, 7, 0
        cti = std.vector["podio::root_utils::CollectionWriteInfo"]()
        for cid, name, subset, storage in (
            (mc_id, "MCParticles", False, "std::vector<edm4hep::MCParticleData>"),
            (sel_id, "Sel", True, "std::vector<podio::ObjectID>"),
        ):
            w = podio.root_utils.CollectionWriteInfo()
            w.collectionID, w.dataType, w.isSubset, w.schemaVersion, w.name, w.storageType = (
                cid,
                MC_TYPE,
                subset,
                6,
                name,
                storage,
            )
            cti.push_back(w)
    md.Branch("events___CollectionTypeInfo", cti)
    md.Branch("PodioBuildVersion", version)
    md.Branch("EDMDefinitions", edm_defs)
    md.Fill()
    md.Write()
    f.Close()
    return path


@pytest.mark.parametrize("legacy", [False, True], ids=["podio1.7", "podio0.16"])
def test_subset_from_plain_root_file(tmp_path: Path, legacy: bool) -> None:
    from k4mlinference.io import Reader

    r = Reader(_plain_root_file(tmp_path / "plain.root", legacy))
    assert {i.name: i.is_subset for i in r.metadata[0].categories["events"]} == {"MCParticles": False, "Sel": True}
    frames = r.get("events")
    assert [len(f.get("Sel")) for f in frames] == [1, 2]
    f = frames[1]
    sel = f.get("Sel")
    assert sel.getTypeName() == MC_TYPE and [p.getPDG() for p in sel] == [12, 10]
    assert sel[0] == f.get("MCParticles")[2]
