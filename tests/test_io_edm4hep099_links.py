"""Files from EDM4hep 0.99 (schemas 2 to 5), whose links were generated datatypes.

Before podio 1.0's templated `podio::LinkCollection`, EDM4hep 0.99 declared each link
(`edm4hep::RecoMCParticleLink`, ...) as a datatype with a `float weight` and two OneToOne relations
`from` / `to`: a file holds a branch of `vector<edm4hep::RecoMCParticleLinkData>` and the relation
branches `_<coll>_from` / `_<coll>_to`. The reader must bring those into today's link collections
(`podio::LinkData`, same relation branches). The file is built in a subprocess with plain ROOT, so
the old struct never meets our compiled datamodel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

HEADER = r"""
#pragma once
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>
namespace podio {
struct ObjectID { int index; uint32_t collectionID; };
class CollectionIDTable { public: std::vector<uint32_t> m_collectionIDs; std::vector<std::string> m_names; };
namespace version { struct Version { uint16_t major; uint16_t minor; uint16_t patch; }; }
}
namespace edm4hep { struct RecoMCParticleLinkData { float weight; }; }
"""

# EDM4hep 0.99's definition of the link (the part of EDMDefinitions the reader looks at)
EDM4HEP_099 = {
    "schema_version": 2,
    "options": {"getSyntax": True, "exposePODMembers": False, "includeSubfolder": True},
    "components": {},
    "datatypes": {
        "edm4hep::RecoMCParticleLink": {
            "Description": "Link between a ReconstructedParticle and the corresponding MCParticle",
            "Author": "EDM4hep authors",
            "Members": ["float weight // weight of this link"],
            "OneToOneRelations": [
                "edm4hep::ReconstructedParticle from // reference to the reconstructed particle",
                "edm4hep::MCParticle to // reference to the Monte-Carlo particle",
            ],
        },
    },
}

LINKS_ID, WEIGHTS_ID, RECO_ID, MC_ID = 0x5E6B3C21, 0x1F00D5E1, 0x8C2F1E07, 0xA1CBA250

BUILD = r"""
import json, os, sys
spec = json.loads(sys.argv[1])
os.chdir(spec["dir"])
import ROOT

with open("edm099.h", "w") as fh:
    fh.write(spec["header"])
classes = ["podio::ObjectID", "vector<podio::ObjectID>", "podio::CollectionIDTable", "podio::version::Version",
           "edm4hep::RecoMCParticleLinkData", "vector<edm4hep::RecoMCParticleLinkData>"]
assert ROOT.gInterpreter.GenerateDictionary(";".join(classes), "edm099.h")
std, gbl = ROOT.std, ROOT
ids = spec["ids"]

f = ROOT.TFile(spec["path"], "RECREATE")
t = ROOT.TTree("events", "events data tree")
links = std.vector["edm4hep::RecoMCParticleLinkData"]()
rel_from, rel_to = std.vector["podio::ObjectID"](), std.vector["podio::ObjectID"]()
weights = std.vector["float"]()
t.Branch("RecoMCLinks", links)
t.Branch("_RecoMCLinks_from", rel_from)
t.Branch("_RecoMCLinks_to", rel_to)
t.Branch("Weights", weights)
for e in range(2):
    for v in (links, rel_from, rel_to, weights):
        v.clear()
    for i in range(3 + e):
        d = gbl.edm4hep.RecoMCParticleLinkData()
        d.weight = 0.25 * (i + 1) + e
        links.push_back(d)
        a, b = gbl.podio.ObjectID(), gbl.podio.ObjectID()
        a.index, a.collectionID = i, ids["reco"]
        b.index, b.collectionID = 10 * e + 2 - i, ids["mc"]
        rel_from.push_back(a)
        rel_to.push_back(b)
        weights.push_back(1.5 * i)
    t.Fill()
t.Write()

md = ROOT.TTree("podio_metadata", "metadata tree for podio I/O functionality")
table = gbl.podio.CollectionIDTable()
cti = std.vector["std::tuple<unsigned int,std::string,bool,unsigned int>"]()
for name, cid, typ, schema in (
    ("RecoMCLinks", ids["links"], "edm4hep::RecoMCParticleLinkCollection", 2),
    ("Weights", ids["weights"], "podio::UserDataCollection<float>", 1),
):
    table.m_collectionIDs.push_back(cid)
    table.m_names.push_back(name)
    cti.push_back(std.make_tuple["unsigned int", std.string, bool, "unsigned int"](cid, typ, False, schema))
version = gbl.podio.version.Version()
version.major, version.minor, version.patch = 1, 0, 1
edm_defs = std.vector["std::tuple<std::string,std::string>"]()
edm_defs.push_back(std.make_tuple[std.string, std.string]("edm4hep", spec["edm"]))
md.Branch("events___idTable", table)
md.Branch("events___CollectionTypeInfo", cti)
md.Branch("PodioBuildVersion", version)
md.Branch("EDMDefinitions", edm_defs)
md.Fill()
md.Write()
f.Close()
"""


@pytest.fixture(scope="module")
def links_file(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("edm4hep099")
    path = directory / "edm4hep099_links.root"
    work = directory / "build"
    work.mkdir()
    spec = {
        "path": str(path),
        "dir": str(work),
        "header": HEADER,
        "edm": json.dumps(EDM4HEP_099),
        "ids": {"links": LINKS_ID, "weights": WEIGHTS_ID, "reco": RECO_ID, "mc": MC_ID},
    }
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(BUILD), json.dumps(spec)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONWARNINGS="ignore"),
        timeout=300,
    )
    assert proc.returncode == 0 and path.exists(), proc.stdout + proc.stderr
    return path


def test_edm4hep099_links_read_into_link_collections(links_file: Path) -> None:
    from k4mlinference.io import Reader, SkippedCollectionWarning

    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        reader = Reader(links_file)
        frames = reader.get("events")
        assert len(frames) == 2
        for e, frame in enumerate(frames):
            assert frame.getAvailableCollections() == ["RecoMCLinks", "Weights"]
            links = frame.get("RecoMCLinks")
            n = 3 + e
            assert len(links) == n
            np.testing.assert_array_equal(links.view("weight"), np.float32([0.25 * (i + 1) + e for i in range(n)]))
            assert [float(link.getWeight()) for link in links] == [0.25 * (i + 1) + e for i in range(n)]
            rel_from, rel_to = links.relation_view("from"), links.relation_view("to")
            np.testing.assert_array_equal(rel_from["index"], np.arange(n))
            np.testing.assert_array_equal(rel_from["collectionID"], [RECO_ID] * n)
            np.testing.assert_array_equal(rel_to["index"], [10 * e + 2 - i for i in range(n)])
            np.testing.assert_array_equal(rel_to["collectionID"], [MC_ID] * n)
            assert [float(x) for x in frame.get("Weights")] == [1.5 * i for i in range(n)]
        reader.close()
    assert not [w for w in rec if issubclass(w.category, SkippedCollectionWarning)], [str(w.message) for w in rec]


def test_edm4hep099_links_written_as_podio1_links(links_file: Path, tmp_path: Path) -> None:
    """Once read, the links are today's: written back, they are podio 1.x link collections."""
    from k4mlinference.io import Reader, Writer

    out = tmp_path / "rewritten.root"
    with Reader(links_file) as reader, Writer(out) as writer:
        for frame in reader.get("events"):
            writer.write_frame(frame, "events")
    with Reader(out) as again:
        frame = again.get("events")[1]
        assert frame.collection_type("RecoMCLinks") == (
            "podio::LinkCollection<edm4hep::ReconstructedParticle,edm4hep::MCParticle>"
        )
        links = frame.get("RecoMCLinks")
        np.testing.assert_array_equal(links.view("weight"), np.float32([1.25, 1.5, 1.75, 2.0]))
        np.testing.assert_array_equal(links.relation_view("to")["index"], [12, 11, 10, 9])
        np.testing.assert_array_equal(links.relation_view("from")["collectionID"], [RECO_ID] * 4)
