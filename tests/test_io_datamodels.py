"""Files with datamodels this process does not have: compiled from the file's own definition
(`podio_metadata/EDMDefinitions`); never replacing a builtin datamodel of another schema."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DDSIM = REPO.parent / "shared" / "data" / "edm4hep" / "ddsim_odd_piplus_edm4hep0.99.root"

USER_DM = {
    "schema_version": 3,
    "components": {"mydm::Point": {"Members": ["float x // x", "float y // y"]}},
    "datatypes": {
        "mydm::Hit": {
            "Description": "a user's hit",
            "Author": "test",
            "Members": ["mydm::Point pos // position", "float e [GeV] // energy", "std::int32_t layer // layer"],
            "VectorMembers": ["float samples // waveform"],
            "OneToManyRelations": ["mydm::Hit neighbours // other hits"],
            "OneToOneRelations": ["edm4hep::MCParticle particle // truth"],
        }
    },
}
# a type in the edm4eic namespace that our builtin edm4eic subset lacks
EIC_EXTRA = {
    "schema_version": 890,
    "datatypes": {
        "edm4eic::ProtoCluster": {
            "Description": "hits grouped before clustering",
            "Author": "test",
            "Members": ["float energy // sum"],
            "VectorMembers": ["float weights // per hit"],
        }
    },
}

WRITE = """
import json, sys, warnings
warnings.simplefilter("ignore")
from k4mlinference import edm
from k4mlinference.datamodel import parse_datamodel
from k4mlinference.edm import loader
from k4mlinference.io import Frame, Writer
edm.load()
dms = [parse_datamodel(json.loads(sys.argv[2]), name="mydm"), parse_datamodel(json.loads(sys.argv[3]), name="eicextra")]
for dm in dms:
    dm.upstream = ["edm4hep"]
    loader.load_datamodel(dm, upstream=[loader.loaded()["edm4hep"]])
edm.load(extra=dms)
import cppyy
f = Frame()
mc = edm.edm4hep.MCParticleCollection()
p0, p1 = mc.create(PDG=11), mc.create(PDG=13)
f.put(mc, "MCParticles")
hits = cppyy.gbl.mydm.HitCollection()
f.put(hits, "Hits")
for i in range(3):
    h = hits.create(e=1.5 * i, layer=i, samples=[0.5, float(i)])
    h.setParticle(p1 if i else p0)
hits.mutableAt(2).addToNeighbours(hits[0])
hits.data_view()["pos"]["x"][:] = [1.0, 2.0, 3.0]
pc = cppyy.gbl.edm4eic.ProtoClusterCollection()
f.put(pc, "ProtoClusters")
pc.create(energy=4.0, weights=[0.25, 0.75])
with Writer(sys.argv[1]) as w:
    w.write_frame(f, "events")
print("OK")
"""

READ = """
import sys, warnings
warnings.simplefilter("ignore")
from k4mlinference.edm import loader
from k4mlinference.io import Reader
assert "mydm" not in loader.loaded()
frame = Reader(sys.argv[1]).get("events")[0]
hits = frame.get("Hits")
print("TYPE", hits.getTypeName())
print("E", hits.view("e").tolist(), "X", hits.view("pos.x").tolist(), "S", hits.vector_view("samples").tolist())
print("PDG", [h.getParticle().getPDG() for h in hits])
print("NB", [n.getIndex() for n in hits[2].getNeighbours()])
pc = frame.get("ProtoClusters")
print("PC", pc.getTypeName(), pc.view("energy").tolist(), pc.vector_view("weights").tolist())
print("LOADED", sorted(loader.loaded()))
import json
from k4mlinference.io import Writer
with Writer(sys.argv[2]) as w:
    w.write_frame(frame, "events")
defs = Reader(sys.argv[2]).metadata[0].edm_definitions
print("DEFS", sorted(defs), sorted(json.loads(defs["edm4eic"])["datatypes"]))
"""


def _run(script: str, *args: str) -> str:
    res = subprocess.run([sys.executable, "-c", script, *args], cwd=REPO, capture_output=True, text=True, timeout=400)
    assert res.returncode == 0, res.stdout + res.stderr[-4000:]
    return res.stdout


def _patch_metadata(
    path: Path, edm_name_map: dict[str, tuple[str, str]] | None = None, types: dict[str, str] | None = None
) -> None:
    """Rewrite podio_metadata: rename/replace datamodel definitions, change collection types."""
    import cppyy
    import ROOT

    from k4mlinference.io.native import cppyy_io

    cppyy_io()  # podio's metadata types
    warnings.filterwarnings("ignore", message="no dictionary for class")  # the foreign types, not needed here
    f = ROOT.TFile.Open(str(path), "UPDATE")
    md = f.Get("podio_metadata")
    md.GetEntry(0)
    infos = cppyy.gbl.std.vector["podio::root_utils::CollectionWriteInfo"]()
    for e in md.events___CollectionTypeInfo:
        e2 = cppyy.gbl.podio.root_utils.CollectionWriteInfo(e)
        if types and str(e2.name) in types:
            e2.dataType = types[str(e2.name)]
        infos.push_back(e2)
    defs = cppyy.gbl.std.vector["std::tuple<std::string,std::string>"]()
    for t in md.EDMDefinitions:
        name, text = str(cppyy.gbl.std.get[0](t)), str(cppyy.gbl.std.get[1](t))
        if edm_name_map and name in edm_name_map:
            name, text = edm_name_map[name]
        defs.push_back(cppyy.gbl.std.make_tuple[cppyy.gbl.std.string, cppyy.gbl.std.string](name, text))
    t2 = md.CloneTree(0)
    t2.SetBranchAddress("events___CollectionTypeInfo", infos)
    t2.SetBranchAddress("EDMDefinitions", defs)
    t2.Fill()
    t2.Write("", ROOT.TObject.kOverwrite)
    f.Close()


def test_foreign_datamodels_compiled_from_file(tmp_path) -> None:
    from k4mlinference.datamodel.model import load_builtin_datamodels

    path = tmp_path / "user_dm.root"
    assert "OK" in _run(WRITE, str(path), json.dumps(USER_DM), json.dumps(EIC_EXTRA))
    # present the extra type as part of a full `edm4eic` definition (as EICrecon files carry it)
    eic = next(d for d in load_builtin_datamodels() if d.name == "edm4eic").source
    full_eic = dict(eic, datatypes={**eic["datatypes"], **EIC_EXTRA["datatypes"]})
    _patch_metadata(path, {"eicextra": ("edm4eic", json.dumps(full_eic))})
    out = _run(READ, str(path), str(tmp_path / "rewritten.root"))
    assert "TYPE mydm::HitCollection" in out
    assert "E [0.0, 1.5, 3.0] X [1.0, 2.0, 3.0] S [0.5, 0.0, 0.5, 1.0, 0.5, 2.0]" in out
    assert "PDG [11, 13, 13]" in out
    assert "NB [0]" in out
    assert "PC edm4eic::ProtoClusterCollection [4.0] [0.25, 0.75]" in out
    loaded = out.split("LOADED", 1)[1]
    assert "'mydm'" in loaded and "edm4eic_ext_" in loaded  # builtin edm4eic kept, extension added
    # written again, the extension is stored as part of `edm4eic`, as podio would name it
    assert "DEFS ['edm4eic', 'edm4hep', 'mydm'] ['edm4eic::ProtoCluster', 'edm4eic::Tensor']" in out


@pytest.mark.skipif(not DDSIM.exists(), reason=f"{DDSIM} absent (../shared not checked out)")
@pytest.mark.filterwarnings("ignore:no dictionary for class")  # ROOT, opening the 0.99 file directly here
def test_other_schema_of_builtin_datamodel_is_skipped(tmp_path) -> None:
    """A type only an older edm4hep has (0.99's GeneratorPdfInfo): skipped, with a warning."""
    import cppyy
    import ROOT

    from k4mlinference import edm
    from k4mlinference.io import Frame, Reader, SkippedCollectionWarning, Writer

    path = tmp_path / "old_type.root"
    f = Frame()
    f.put(edm.edm4hep.MCParticleCollection(), "MCParticles")
    f.put(edm.edm4hep.MCParticleCollection(), "PdfInfos")
    with Writer(path) as w:
        w.write_frame(f, "events")
    src = ROOT.TFile.Open(str(DDSIM))
    md = src.Get("podio_metadata")
    md.GetEntry(0)
    old_json = next(str(cppyy.gbl.std.get[1](t)) for t in md.EDMDefinitions)
    src.Close()
    assert "edm4hep::GeneratorPdfInfo" in old_json
    _patch_metadata(
        path,
        {"edm4hep": ("edm4hep", old_json)},
        {"PdfInfos": "edm4hep::GeneratorPdfInfoCollection"},
    )
    with pytest.warns(SkippedCollectionWarning) as rec:
        frames = Reader(path).get("events")
    msg = str(next(w.message for w in rec if issubclass(w.category, SkippedCollectionWarning)))
    assert "PdfInfos" in msg and "schema 2" in msg and "builtin 'edm4hep' (schema 6)" in msg
    assert frames[0].getAvailableCollections() == ["MCParticles"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert len(frames[0].get("MCParticles")) == 0
    from k4mlinference.edm import loader

    assert loader.loaded()["edm4hep"].schema_version == 6
