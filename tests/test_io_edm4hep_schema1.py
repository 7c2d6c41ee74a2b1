"""Files written with EDM4hep 0.10 (schema_version 1) by podio 0.16 / 0.17, as in many FCC-ee samples.

The file is built in a subprocess with plain ROOT and structs in the schema-1 layout (their ROOT
dictionaries generated there), so the old struct definitions never meet our compiled datamodel.
The test process then reads it with `k4mlinference.io.Reader`: ROOT's member-wise schema evolution
must bridge the differences (float -> double, int32 -> uint64, members dropped or new), relation
branches must be matched to ours by name (podio >= 0.17) or by the file's own definition order
(podio 0.16's `C#i`), and types that only exist in schema 1 are skipped with a warning.
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

# Schema-1 (EDM4hep v00-10) persistent structs, in podio's member order: members, then the
# begin/end pairs of vector members and OneToMany relations. podio 0.16's ObjectID had an `int`
# collection ID; 0.17 made it uint32_t (and the IDs hashes of the names).
HEADER = r"""
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>
namespace podio {
struct ObjectID { int index; COLLID collectionID; };
class CollectionIDTable { public: std::vector<COLLID> m_collectionIDs; std::vector<std::string> m_names; };
namespace version { struct Version { uint16_t major; uint16_t minor; uint16_t patch; }; }
struct GenericParameters {
  std::map<std::string, std::vector<int>> _intMap;
  std::map<std::string, std::vector<float>> _floatMap;
  std::map<std::string, std::vector<std::string>> _stringMap;
  std::map<std::string, std::vector<double>> _doubleMap;
};
}
namespace edm4hep {
struct Vector3f { float x; float y; float z; };
struct Vector3d { double x; double y; double z; };
struct Vector2i { int32_t a; int32_t b; };
struct EventHeaderData { int32_t eventNumber; int32_t runNumber; uint64_t timeStamp; float weight; };
struct MCParticleData {
  int32_t PDG; int32_t generatorStatus; int32_t simulatorStatus; float charge; float time; double mass;
  Vector3d vertex; Vector3d endpoint; Vector3f momentum; Vector3f momentumAtEndpoint; Vector3f spin; Vector2i colorFlow;
  unsigned int parents_begin; unsigned int parents_end; unsigned int daughters_begin; unsigned int daughters_end;
};
struct ReconstructedParticleData {
  int32_t type; float energy; Vector3f momentum; Vector3f referencePoint; float charge; float mass; float goodnessOfPID;
  std::array<float, 10> covMatrix;
  unsigned int clusters_begin; unsigned int clusters_end; unsigned int tracks_begin; unsigned int tracks_end;
  unsigned int particles_begin; unsigned int particles_end; unsigned int particleIDs_begin; unsigned int particleIDs_end;
};
struct MCRecoParticleAssociationData { float weight; };
struct SimTrackerHitData {
  uint64_t cellID; float EDep; float time; float pathLength; int32_t quality; Vector3d position; Vector3f momentum;
};
}
"""

# What podio writes into EDMDefinitions (normalized member strings), for the types of the file.
EDM4HEP_SCHEMA1 = {
    "schema_version": 1,
    "options": {"getSyntax": True, "exposePODMembers": False, "includeSubfolder": True},
    "components": {
        "edm4hep::Vector3f": {"Members": ["float x", "float y", "float z"]},
        "edm4hep::Vector3d": {"Members": ["double x", "double y", "double z"]},
        "edm4hep::Vector2i": {"Members": ["std::int32_t a", "std::int32_t b"]},
    },
    "datatypes": {
        "edm4hep::EventHeader": {
            "Description": "Event Header",
            "Author": "EDM4hep authors",
            "Members": [
                "std::int32_t eventNumber // event number",
                "std::int32_t runNumber // run number",
                "std::uint64_t timeStamp // time stamp",
                "float weight // event weight",
            ],
        },
        "edm4hep::MCParticle": {
            "Description": "The Monte Carlo particle",
            "Author": "EDM4hep authors",
            "Members": [
                "std::int32_t PDG // PDG code of the particle",
                "std::int32_t generatorStatus // generator status",
                "std::int32_t simulatorStatus // simulator status",
                "float charge // particle charge",
                "float time // creation time",
                "double mass // mass",
                "edm4hep::Vector3d vertex // production vertex",
                "edm4hep::Vector3d endpoint // endpoint",
                "edm4hep::Vector3f momentum // momentum at the vertex",
                "edm4hep::Vector3f momentumAtEndpoint // momentum at the endpoint",
                "edm4hep::Vector3f spin // spin vector",
                "edm4hep::Vector2i colorFlow // color flow",
            ],
            "OneToManyRelations": [
                "edm4hep::MCParticle parents // parents",
                "edm4hep::MCParticle daughters // daughters",
            ],
        },
        "edm4hep::ReconstructedParticle": {
            "Description": "Reconstructed Particle",
            "Author": "EDM4hep authors",
            "Members": [
                "std::int32_t type // type",
                "float energy // energy",
                "edm4hep::Vector3f momentum // momentum",
                "edm4hep::Vector3f referencePoint // reference point",
                "float charge // charge",
                "float mass // mass",
                "float goodnessOfPID // goodness of PID",
                "std::array<float, 10> covMatrix // covariance matrix",
            ],
            "OneToOneRelations": [
                "edm4hep::Vertex startVertex // start vertex",
                "edm4hep::ParticleID particleIDUsed // particle ID used",
            ],
            "OneToManyRelations": [
                "edm4hep::Cluster clusters // clusters",
                "edm4hep::Track tracks // tracks",
                "edm4hep::ReconstructedParticle particles // particles",
                "edm4hep::ParticleID particleIDs // particle IDs",
            ],
        },
        "edm4hep::SimTrackerHit": {
            "Description": "Simulated tracker hit",
            "Author": "EDM4hep authors",
            "Members": [
                "std::uint64_t cellID // cell ID",
                "float EDep // deposited energy",
                "float time // time",
                "float pathLength // path length",
                "std::int32_t quality // quality",
                "edm4hep::Vector3d position // position",
                "edm4hep::Vector3f momentum // momentum",
            ],
            "OneToOneRelations": ["edm4hep::MCParticle MCParticle // the particle that caused the hit"],
        },
        "edm4hep::MCRecoParticleAssociation": {
            "Description": "MC - reco association",
            "Author": "EDM4hep authors",
            "Members": ["float weight // weight"],
            "OneToOneRelations": [
                "edm4hep::ReconstructedParticle rec // reco particle",
                "edm4hep::MCParticle sim // MC particle",
            ],
        },
    },
    "interfaces": {},
}

# collection name -> (ID in podio 0.16 (sequential) / 0.17 (MurmurHash3 of the name, any 32-bit value here), type)
COLLECTIONS = {
    "EventHeader": (1, 0xD793AB91, "edm4hep::EventHeaderCollection"),
    "MCParticles": (2, 0xA1CBA250, "edm4hep::MCParticleCollection"),
    "ReconstructedParticles": (3, 0x8C2F1E07, "edm4hep::ReconstructedParticleCollection"),
    "MCRecoAssociations": (4, 0x5E6B3C21, "edm4hep::MCRecoParticleAssociationCollection"),
    "VertexBarrelHits": (5, 0x1F00D5E1, "edm4hep::SimTrackerHitCollection"),
}
CLUSTERS_ID, TRACKS_ID, PID_ID, VERTEX_ID = 11, 12, 13, 14  # collections the file does not hold

BUILD = r'''
import json, os, sys
spec = json.loads(sys.argv[1])
os.chdir(spec["dir"])  # GenerateDictionary (ACLiC) writes its sources and library here
import ROOT

old = spec["podio"] < [0, 16, 99]
with open("schema1.h", "w") as fh:
    fh.write(spec["header"].replace("COLLID", "int" if old else "unsigned int"))
classes = [
    "podio::ObjectID", "vector<podio::ObjectID>", "podio::CollectionIDTable", "podio::version::Version",
    "podio::GenericParameters", "edm4hep::Vector3f", "edm4hep::Vector3d", "edm4hep::Vector2i",
]
for t in ("EventHeader", "MCParticle", "ReconstructedParticle", "MCRecoParticleAssociation", "SimTrackerHit"):
    classes += [f"edm4hep::{t}Data", f"vector<edm4hep::{t}Data>"]
assert ROOT.gInterpreter.GenerateDictionary(";".join(classes), "schema1.h")
std, gbl = ROOT.std, ROOT
ids = {n: (v[0] if old else v[1]) for n, v in spec["collections"].items()}


def branch(tree, coll, rel_index, rel_name, obj):
    """podio 0.16: `C#i` (relations); 0.17: `_C_name`."""
    tree.Branch(f"{coll}#{rel_index}" if old else f"_{coll}_{rel_name}", obj)


def oid(index, cid):
    o = gbl.podio.ObjectID()
    o.index, o.collectionID = index, cid
    return o


f = ROOT.TFile(spec["path"], "RECREATE")
t = ROOT.TTree("events", "events data tree")
hdr = std.vector["edm4hep::EventHeaderData"]()
mc = std.vector["edm4hep::MCParticleData"]()
mc_rel = [std.vector["podio::ObjectID"]() for _ in range(2)]
rp = std.vector["edm4hep::ReconstructedParticleData"]()
rp_names = ["clusters", "tracks", "particles", "particleIDs", "startVertex", "particleIDUsed"]
rp_rel = [std.vector["podio::ObjectID"]() for _ in rp_names]
assoc = std.vector["edm4hep::MCRecoParticleAssociationData"]()
assoc_rel = [std.vector["podio::ObjectID"]() for _ in range(2)]
hits = std.vector["edm4hep::SimTrackerHitData"]()
hits_rel = std.vector["podio::ObjectID"]()
params = gbl.podio.GenericParameters()
t.Branch("EventHeader", hdr)
t.Branch("MCParticles", mc)
for i, n in enumerate(["parents", "daughters"]):
    branch(t, "MCParticles", i, n, mc_rel[i])
t.Branch("ReconstructedParticles", rp)
for i, n in enumerate(rp_names):
    branch(t, "ReconstructedParticles", i, n, rp_rel[i])
t.Branch("MCRecoAssociations", assoc)
for i, n in enumerate(["rec", "sim"]):
    branch(t, "MCRecoAssociations", i, n, assoc_rel[i])
t.Branch("VertexBarrelHits", hits)
branch(t, "VertexBarrelHits", 0, "MCParticle", hits_rel)
t.Branch("PARAMETERS", params)
other = spec["other_ids"]
for e in range(2):
    for v in [hdr, mc, rp, assoc, hits, hits_rel] + mc_rel + rp_rel + assoc_rel:
        v.clear()
    h = gbl.edm4hep.EventHeaderData()
    h.eventNumber, h.runNumber, h.timeStamp, h.weight = 1000 + e, 7, 123456789, 0.5
    hdr.push_back(h)
    # a chain 0 -> 1 -> 2 of MCParticles
    for i in range(3):
        d = gbl.edm4hep.MCParticleData()
        d.PDG = [11, 22, -11][i] * (e + 1)
        d.charge, d.mass = -1.0, 0.000511
        d.momentum.x, d.momentum.y, d.momentum.z = 0.1 * (i + 1), -0.3, 45.6 + e
        d.momentumAtEndpoint.z = 1.1
        d.vertex.z = 2.5
        d.spin.z, d.colorFlow.a = 0.5, 3
        d.parents_begin = d.parents_end = mc_rel[0].size()
        if i:
            mc_rel[0].push_back(oid(i - 1, ids["MCParticles"]))
            d.parents_end = mc_rel[0].size()
        d.daughters_begin = d.daughters_end = mc_rel[1].size()
        if i < 2:
            mc_rel[1].push_back(oid(i + 1, ids["MCParticles"]))
            d.daughters_end = mc_rel[1].size()
        mc.push_back(d)
    # particle 2 is made of particles 0 and 1; every particle has 2 particleIDs, 1 cluster, 0-1 tracks
    for i in range(3):
        d = gbl.edm4hep.ReconstructedParticleData()
        d.type, d.energy, d.charge, d.mass, d.goodnessOfPID = 211 * (i + 1), 10.0 + i, [1.0, -1.0, 0.0][i], 0.14, 0.9
        d.momentum.x, d.momentum.y, d.momentum.z = 1.25 * i, 2.5, -3.75
        for k in range(10):
            d.covMatrix[k] = 0.5 * k
        d.particleIDs_begin = rp_rel[3].size()
        for k in range(2):
            rp_rel[3].push_back(oid(10 * i + k, other["pid"]))
        d.particleIDs_end = rp_rel[3].size()
        d.clusters_begin = rp_rel[0].size()
        rp_rel[0].push_back(oid(100 + i, other["clusters"]))
        d.clusters_end = rp_rel[0].size()
        d.tracks_begin = rp_rel[1].size()
        if i != 1:
            rp_rel[1].push_back(oid(200 + i, other["tracks"]))
        d.tracks_end = rp_rel[1].size()
        d.particles_begin = d.particles_end = rp_rel[2].size()
        if i == 2:
            rp_rel[2].push_back(oid(0, ids["ReconstructedParticles"]))
            rp_rel[2].push_back(oid(1, ids["ReconstructedParticles"]))
            d.particles_end = rp_rel[2].size()
        rp_rel[4].push_back(oid(300 + i, other["vertex"]))
        rp_rel[5].push_back(oid(10 * i, other["pid"]))
        rp.push_back(d)
    for i in range(3):
        a = gbl.edm4hep.MCRecoParticleAssociationData()
        a.weight = 1.0
        assoc.push_back(a)
        assoc_rel[0].push_back(oid(i, ids["ReconstructedParticles"]))
        assoc_rel[1].push_back(oid(i, ids["MCParticles"]))
    for i in range(2):
        d = gbl.edm4hep.SimTrackerHitData()
        d.cellID, d.EDep, d.time, d.quality = 1 << 40 | i, 0.25 * (i + 1), 1.5, 3
        d.momentum.x = 0.75
        hits.push_back(d)
        hits_rel.push_back(oid(2 - i, ids["MCParticles"]))
    params._intMap.clear()
    params._intMap["event"] = std.vector["int"]([e])
    t.Fill()
t.Write()

md = ROOT.TTree("podio_metadata", "metadata tree for podio I/O functionality")
table = gbl.podio.CollectionIDTable()
idt = "int" if old else "unsigned int"
cti = std.vector[f"std::tuple<{idt},std::string,bool,unsigned int>"]()
for name, v in spec["collections"].items():
    table.m_collectionIDs.push_back(ids[name])
    table.m_names.push_back(name)
    cti.push_back(std.make_tuple[idt, std.string, bool, "unsigned int"](ids[name], v[2], False, 1))
version = gbl.podio.version.Version()
version.major, version.minor, version.patch = spec["podio"]
edm_defs = std.vector["std::tuple<std::string,std::string>"]()
edm_defs.push_back(std.make_tuple[std.string, std.string]("edm4hep", spec["edm"]))
md.Branch("events___idTable", table)
md.Branch("events___CollectionTypeInfo", cti)
md.Branch("PodioBuildVersion", version)
md.Branch("EDMDefinitions", edm_defs)
md.Fill()
md.Write()
f.Close()
'''


def build_file(directory: Path, podio: tuple[int, int, int]) -> Path:
    path = directory / f"edm4hep010_podio{'.'.join(map(str, podio))}.root"
    work = directory / "build"
    work.mkdir()
    spec = {
        "path": str(path),
        "dir": str(work),
        "podio": list(podio),
        "header": HEADER,
        "edm": json.dumps(EDM4HEP_SCHEMA1),
        "collections": {k: list(v) for k, v in COLLECTIONS.items()},
        "other_ids": {"clusters": CLUSTERS_ID, "tracks": TRACKS_ID, "pid": PID_ID, "vertex": VERTEX_ID},
    }
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(BUILD), json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0 and path.exists(), proc.stdout + proc.stderr
    return path


@pytest.fixture(scope="module", params=[(0, 16, 6), (0, 17, 3)], ids=["podio0.16", "podio0.17"])
def schema1_file(request, tmp_path_factory) -> Path:
    return build_file(tmp_path_factory.mktemp("schema1"), request.param)


def _ids(name: str, podio: tuple[int, int, int]) -> int:
    return COLLECTIONS[name][0] if podio < (0, 16, 99) else COLLECTIONS[name][1]


def test_schema1_file_reads(schema1_file: Path) -> None:
    from k4mlinference.io import Reader, SchemaEvolutionWarning, SkippedCollectionWarning, evolution

    evolution.forget_warnings()
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        reader = Reader(schema1_file)
        podio = reader.podio_version
        frames = reader.get("events")
        assert len(frames) == 2
        frame = frames[1]
        mc = frame.get("MCParticles")
        rp = frame.get("ReconstructedParticles")
        hdr = frame.get("EventHeader")
        hits = frame.get("VertexBarrelHits")
        frames[0].get("MCParticles")  # a second frame: no second warning
    skipped = [str(w.message) for w in rec if issubclass(w.category, SkippedCollectionWarning)]
    schema = [str(w.message) for w in rec if issubclass(w.category, SchemaEvolutionWarning)]

    # the old-only association type is skipped, with a warning naming the collection and its type
    assert "MCRecoAssociations" not in frame.getAvailableCollections()
    assert len(skipped) == 1 and "MCRecoAssociations" in skipped[0], skipped
    assert "edm4hep::MCRecoParticleAssociation" in skipped[0], skipped

    # one warning per type, naming what differs
    by_type = {t: [m for m in schema if f"edm4hep::{t} " in m] for t in ("MCParticle", "ReconstructedParticle")}
    assert all(len(v) == 1 for v in by_type.values()), schema
    m = by_type["MCParticle"][0]
    assert "schema 1" in m and all(x in m for x in ("spin", "colorFlow", "helicity")), m
    r = by_type["ReconstructedParticle"][0]
    assert "type" in r and "PDG" in r and "particleIDs" in r and "startVertex" in r, r
    assert (
        "collection 'ReconstructedParticles'" in r
        and "cannot convert" in r
        and "covMatrix (std::array<float, 10> -> edm4hep::CovMatrix4f)" in r
    ), r
    assert "cannot convert" not in m and "momentum (edm4hep::Vector3f -> edm4hep::Vector3d)" in m, m
    assert sum("edm4hep::EventHeader " in m for m in schema) == 1, schema

    # MCParticle: float momentum read into doubles exactly, relations navigate
    np.testing.assert_array_equal(mc.view("PDG"), [22, 44, -22])
    assert mc.view("momentum.x").dtype == np.float64
    np.testing.assert_array_equal(mc.view("momentum.x"), np.float32([0.1, 0.2, 0.3]).astype(np.float64))
    np.testing.assert_array_equal(mc.view("momentum.y"), [np.float64(np.float32(-0.3))] * 3)
    np.testing.assert_array_equal(mc.view("momentum.z"), [np.float64(np.float32(46.6))] * 3)
    np.testing.assert_array_equal(mc.view("momentumAtEndpoint.z"), [np.float64(np.float32(1.1))] * 3)
    np.testing.assert_array_equal(mc.view("vertex.z"), [2.5] * 3)
    np.testing.assert_array_equal(mc.view("mass"), [0.000511] * 3)
    np.testing.assert_array_equal(mc.view("helicity"), [9] * 3)  # ours only: its default
    assert mc.getID() == _ids("MCParticles", podio)
    assert mc[1].getParents()[0] == mc[0] and mc[1].getDaughters()[0] == mc[2]
    assert len(mc[0].getParents()) == 0 and len(mc[2].getDaughters()) == 0

    # EventHeader: int32 -> uint64 / uint32, float -> double
    assert int(hdr.view("eventNumber")[0]) == 1001 and int(hdr.view("runNumber")[0]) == 7
    assert int(hdr.view("timeStamp")[0]) == 123456789 and float(hdr.view("weight")[0]) == 0.5
    assert len(hdr.vector_view("weights")) == 0

    # ReconstructedParticle: members, and relations not shifted by the file's extra particleIDs
    np.testing.assert_array_equal(rp.view("energy"), np.float32([10, 11, 12]))
    np.testing.assert_array_equal(rp.view("PDG"), [211, 422, 633])  # schema 1's `type`, renamed PDG
    np.testing.assert_array_equal(rp.view("charge"), np.float32([1, -1, 0]))
    np.testing.assert_array_equal(rp.view("momentum.x"), np.float32([0, 1.25, 2.5]))
    np.testing.assert_array_equal(rp.view("momentum.z"), np.float32([-3.75] * 3))
    clusters = rp.relation_view("clusters")
    np.testing.assert_array_equal(clusters["index"], [100, 101, 102])
    np.testing.assert_array_equal(clusters["collectionID"], [CLUSTERS_ID] * 3)
    tracks = rp.relation_view("tracks")
    np.testing.assert_array_equal(tracks["index"], [200, 202])
    np.testing.assert_array_equal(tracks["collectionID"], [TRACKS_ID] * 2)
    assert [list(map(int, x)) for x in rp.ranges("tracks")] == [[0, 1, 1], [1, 1, 2]]
    particles = rp.relation_view("particles")
    np.testing.assert_array_equal(particles["index"], [0, 1])
    assert rp[2].getParticles()[0] == rp[0] and rp[2].getParticles()[1] == rp[1]
    assert len(rp[0].getParticles()) == 0
    # ours only: one unset reference per particle (OneToOne accessors index by object)
    np.testing.assert_array_equal(rp.relation_view("decayVertex")["index"], [-2] * 3)
    assert rp[1].getDecayVertex() is None
    np.testing.assert_array_equal(rp.view("covMatrix.values"), np.zeros((3, 10)))  # not convertible: default

    # SimTrackerHit: the relation renamed MCParticle -> particle and the member EDep -> eDep are read
    hit_warn = [m for m in schema if "edm4hep::SimTrackerHit " in m]
    assert len(hit_warn) == 1 and "relations renamed (read): MCParticle -> particle" in hit_warn[0], hit_warn
    assert "EDep" in hit_warn[0] and "eDep" in hit_warn[0] and "relations in the file" not in hit_warn[0], hit_warn
    assert [h.getParticle() for h in hits] == [mc[2], mc[1]]
    np.testing.assert_array_equal(hits.view("cellID"), [1 << 40, 1 << 40 | 1])
    np.testing.assert_array_equal(hits.view("momentum.x"), np.float32([0.75, 0.75]))
    np.testing.assert_array_equal(hits.view("eDep"), np.float32([0.25, 0.5]))
    assert "members renamed (read from TTree files): EDep -> eDep" in hit_warn[0]

    assert frame.parameters == {"event": 1}
    reader.close()


def test_schema1_file_has_podio016_streamer_info(schema1_file: Path) -> None:
    """The structs are written as podio 0.16 / EDM4hep 0.10 wrote them: class version = schema version 1."""
    import ROOT

    f = ROOT.TFile.Open(str(schema1_file))
    infos = {i.GetName(): i for i in f.GetStreamerInfoList() if i.ClassName() == "TStreamerInfo"}
    mc = infos["edm4hep::MCParticleData"]
    assert mc.GetClassVersion() == 1
    elements = [(e.GetName(), e.GetTypeName()) for e in mc.GetElements()]
    assert elements[8:12] == [
        ("momentum", "edm4hep::Vector3f"),
        ("momentumAtEndpoint", "edm4hep::Vector3f"),
        ("spin", "edm4hep::Vector3f"),
        ("colorFlow", "edm4hep::Vector2i"),
    ]
    assert [n for n, _ in elements[-4:]] == ["parents_begin", "parents_end", "daughters_begin", "daughters_end"]
    rp = [e.GetName() for e in infos["edm4hep::ReconstructedParticleData"].GetElements()]
    assert rp[0] == "type" and rp[-2:] == ["particleIDs_begin", "particleIDs_end"]
    assert infos["edm4hep::Vector3f"].GetClassVersion() == 1
    f.Close()
