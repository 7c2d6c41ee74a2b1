"""podio 0.16's layout, built here with plain ROOT: index-based branch names (`C#0`, `C_0`),
sequential collection IDs, the `PARAMETERS` branch (podio::GenericParameters), an idTable and
CollectionTypeInfo tuples without schema version."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="module")
def legacy_file(tmp_path_factory) -> Path:
    import cppyy
    import ROOT

    from k4mlinference.edm import loader
    from k4mlinference.io.native import cppyy_io

    cppyy_io()
    std = cppyy.gbl.std
    path = tmp_path_factory.mktemp("legacy") / "podio016.root"
    f = ROOT.TFile(str(path), "RECREATE")
    t = ROOT.TTree("events", "events data tree")
    mc = std.vector["edm4hep::MCParticleData"]()
    parents = std.vector["podio::ObjectID"]()
    daughters = std.vector["podio::ObjectID"]()
    hdr = std.vector["edm4hep::EventHeaderData"]()
    weights = std.vector["double"]()
    params = cppyy.gbl.podio.GenericParameters()
    t.Branch("EventHeader", hdr)
    t.Branch("EventHeader_0", weights)
    t.Branch("MCParticles", mc)
    t.Branch("MCParticles#0", parents)
    t.Branch("MCParticles#1", daughters)
    t.Branch("PARAMETERS", params)
    for e in range(2):
        for v in (mc, parents, daughters, hdr, weights):
            v.clear()
        for i in range(3):
            d = cppyy.gbl.edm4hep.MCParticleData()
            d.PDG = 100 * e + i
            d.momentum.z = 1.5 * i
            d.parents_begin = d.parents_end = len(parents)
            if i:
                parents.push_back(cppyy.gbl.podio.ObjectID(i - 1, 2))  # ID 2 = MCParticles
                d.parents_end = len(parents)
            d.daughters_begin = d.daughters_end = len(daughters)
            if i < 2:
                daughters.push_back(cppyy.gbl.podio.ObjectID(i + 1, 2))
                d.daughters_end = len(daughters)
            mc.push_back(d)
        h = cppyy.gbl.edm4hep.EventHeaderData()
        h.eventNumber = 40 + e
        h.weights_begin, h.weights_end = 0, 2
        hdr.push_back(h)
        weights.push_back(0.25)
        weights.push_back(0.75 + e)
        params._intMap.clear()
        params._intMap["event"] = std.vector["int"]([e])
        params._floatMap["energy"] = std.vector["float"]([91.0, 2.0])
        params._stringMap["tag"] = std.vector["std::string"](["old"])
        t.Fill()
    t.Write()
    md = ROOT.TTree("podio_metadata", "metadata tree for podio I/O functionality")
    table = cppyy.gbl.podio.CollectionIDTable()
    table.m_collectionIDs.push_back(1)
    table.m_names.push_back("EventHeader")
    table.m_collectionIDs.push_back(2)
    table.m_names.push_back("MCParticles")
    cti = std.vector["std::tuple<int,std::string,bool>"]()
    cti.push_back(std.make_tuple[int, std.string, bool](1, "edm4hep::EventHeaderCollection", False))
    cti.push_back(std.make_tuple[int, std.string, bool](2, "edm4hep::MCParticleCollection", False))
    version = cppyy.gbl.podio.version.Version()
    version.major, version.minor, version.patch = 0, 16, 2
    edm_defs = std.vector["std::tuple<std::string,std::string>"]()
    edm_json = json.dumps(loader.loaded()["edm4hep"].source)
    edm_defs.push_back(std.make_tuple[std.string, std.string]("edm4hep", edm_json))
    md.Branch("events___idTable", table)
    md.Branch("events___CollectionTypeInfo", cti)
    md.Branch("PodioBuildVersion", version)
    md.Branch("EDMDefinitions", edm_defs)
    md.Fill()
    md.Write()
    f.Close()
    return path


def test_legacy_layout_reads(legacy_file: Path) -> None:
    from k4mlinference.io import Reader

    r = Reader(legacy_file)
    md = r.metadata[0]
    assert md.podio_version == (0, 16, 2) and md.index_based_names and md.legacy_parameters
    infos = {i.name: i for i in md.categories["events"]}
    assert infos["MCParticles"].id == 2 and infos["MCParticles"].schema_version is None
    frames = r.get("events")
    assert len(frames) == 2
    f = frames[1]
    mc = f.get("MCParticles")
    np.testing.assert_array_equal(mc.view("PDG"), [100, 101, 102])
    np.testing.assert_array_equal(mc.view("momentum.z"), [0.0, 1.5, 3.0])
    assert mc.getID() == 2
    assert mc[2].getParents()[0] == mc[1] and mc[0].getDaughters()[0] == mc[1]
    hdr = f.get("EventHeader")
    assert int(hdr.view("eventNumber")[0]) == 41
    np.testing.assert_array_equal(hdr.vector_view("weights"), [0.25, 1.75])
    assert f.parameters == {"event": 1, "energy": [91.0, 2.0], "tag": "old"}
    assert frames[0].getParameter("event") == 0
