"""Reading real podio files (../shared/data/edm4hep) and checking every column against uproot
(TTree files) or ROOT's RDataFrame (RNTuple file), plus relations, metadata and parameters."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "edm4hep"
PODIO17 = DATA / "edm4hep1_all_types_podio1.7.root"
DDSIM = DATA / "ddsim_odd_piplus_edm4hep0.99.root"
RNTUPLE = DATA / "edm4hep1_all_types_rntuple.root"

pytestmark = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"real podio files not available: {DATA} is absent (../shared not checked out)"
)


def leaf_paths(dtype: np.dtype, prefix: str = ""):
    """('momentum.x', dtype) for every leaf of a structured dtype (arrays stay one leaf)."""
    for name in dtype.names or ():
        sub = dtype.fields[name][0]
        if sub.names:
            yield from leaf_paths(sub, prefix + name + ".")
        else:
            yield prefix + name, sub


def column(arr: np.ndarray, path: str) -> np.ndarray:
    for p in path.split("."):
        arr = arr[p]
    return arr


def collection_columns(coll) -> dict[str, np.ndarray]:
    """Every numeric column of a collection, keyed by podio's split branch/leaf names."""
    name = coll._test_name
    out: dict[str, np.ndarray] = {}
    if str(coll.getTypeName()).startswith("podio::UserDataCollection<"):
        out[name] = np.array(list(coll.vec()))
        return out
    data = coll.data_view()
    for path, sub in leaf_paths(data.dtype):
        leaf = f"{path}[{sub.shape[0]}]" if sub.shape else path
        out[f"{name}/{name}.{leaf}"] = np.array(column(data, path))
    for rel in coll.type_info.relation_names:
        view = coll.relation_view(rel)
        for f in ("index", "collectionID"):
            out[f"_{name}_{rel}/_{name}_{rel}.{f}"] = np.array(view[f])
    for vm in coll.type_info.vector_index:
        view = coll.vector_view(vm)
        if view.dtype.names:
            for path, sub in leaf_paths(view.dtype):
                leaf = f"{path}[{sub.shape[0]}]" if sub.shape else path
                out[f"_{name}_{vm}/_{name}_{vm}.{leaf}"] = np.array(column(view, path))
        else:
            out[f"_{name}_{vm}"] = np.array(view)
    return out


def read_all(path: Path, category: str = "events"):
    from k4mlinference.io import Reader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reader = Reader(path)
        frames = list(reader.get(category))
        result = []
        for frame in frames:
            colls = {}
            for name in frame.getAvailableCollections():
                c = frame.get(name)
                c._test_name = name
                colls[name] = c
            result.append(colls)
    return reader, frames, result


@pytest.mark.parametrize("path", [PODIO17, DDSIM], ids=["podio1.7", "edm4hep0.99"])
def test_every_column_equals_uproot(path: Path) -> None:
    uproot = pytest.importorskip("uproot")
    reader, frames, events = read_all(path)
    tree = uproot.open(path)["events"]
    keys = set(tree.keys())
    type_names = {i.name: i.type_name for i in reader.metadata[0].categories["events"]}
    # every collection of the file is covered by the datamodel and read
    assert sorted(events[0]) == sorted(type_names)
    checked = 0
    cache: dict[str, np.ndarray] = {}
    for entry, colls in enumerate(events):
        for name, coll in colls.items():
            columns = collection_columns(coll)
            assert all(len(c) == len(coll) for k, c in columns.items() if k.startswith(name)), name
            for key, ours in columns.items():
                if key not in keys:
                    # members our schema has and the file's (older) one has not, e.g. MCParticle.helicity
                    assert path == DDSIM, f"{key} missing in {path.name}"
                    continue
                if key not in cache:
                    cache[key] = tree[key].array(library="np")
                theirs = np.asarray(cache[key][entry])
                assert ours.shape == theirs.shape, key
                np.testing.assert_array_equal(
                    ours, theirs.astype(ours.dtype), err_msg=f"{path.name} {key} entry {entry}"
                )
                checked += 1
    assert checked > (300 if path == PODIO17 else 1000)


def test_rntuple_equals_rdataframe() -> None:
    import ROOT

    _, frames, events = read_all(RNTUPLE)
    df = ROOT.RDataFrame("events", str(RNTUPLE))
    cols = [str(c) for c in df.GetColumnNames()]
    # RDataFrame names RNTuple sub-fields `C.member.x` (no `C/` prefix, no `[n]` array suffix)
    ours_by_col: list[dict[str, np.ndarray]] = []
    for colls in events:
        flat = {}
        for coll in colls.values():
            for key, arr in collection_columns(coll).items():
                col = key.split("/", 1)[-1].split("[", 1)[0]
                flat[col] = arr
        ours_by_col.append(flat)
    wanted = [c for c in cols if c in ours_by_col[0]]
    assert len(wanted) > 250
    rdf = df.AsNumpy(wanted)
    for entry, flat in enumerate(ours_by_col):
        for col in wanted:
            theirs = np.array([np.asarray(x) for x in rdf[col][entry]]) if len(rdf[col][entry]) else np.array([])
            ours = flat[col]
            np.testing.assert_array_equal(
                ours.reshape(theirs.shape) if theirs.size else ours[:0], theirs.astype(ours.dtype)
            )
    assert sorted(events[0]) == sorted(c for c in cols if "." not in c and not c.startswith(("_", "GP")))


def test_rntuple_matches_ttree_file() -> None:
    """The two JuliaHEP files hold the same synthetic content: same metadata and counts."""
    from k4mlinference.io import Reader

    a, b = Reader(PODIO17), Reader(RNTUPLE)
    assert a.metadata[0].backend == "TTree" and b.metadata[0].backend == "RNTuple"
    assert b.podio_version == (1, 7, 0) and b.metadata[0].datamodel_versions["edm4hep"] == (1, 0, 0)
    assert {i.name: i.id for i in a.metadata[0].categories["events"]} == {
        i.name: i.id for i in b.metadata[0].categories["events"]
    }
    fa, fb = a.get("events")[1], b.get("events")[1]
    for name in fa.getAvailableCollections():
        assert len(fa.get(name)) == len(fb.get(name)), name


def test_metadata_of_both_layouts() -> None:
    from k4mlinference.edm.murmur import collection_id
    from k4mlinference.io import Reader

    new = Reader(PODIO17).metadata[0]
    assert new.podio_version == (1, 7, 0)
    assert new.datamodel_versions == {"edm4hep": (1, 0, 0)}
    infos = {i.name: i for i in new.categories["events"]}
    assert infos["MCParticleCollection"].id == 0xF958E466 == collection_id("MCParticleCollection")
    assert infos["UserDataCollectionInt"].type_name == "podio::UserDataCollection<int32_t>"
    assert infos["UserDataCollectionInt"].storage_type == "std::vector<int32_t>"
    assert infos["RecoMCParticleLinkCollection"].schema_version == 1
    old_reader = Reader(DDSIM)
    old = old_reader.metadata[0]
    assert old.podio_version == (1, 2, 0) and old.datamodel_versions["edm4hep"] == (0, 99, 1)
    assert old_reader.categories == ["metadata", "meta", "runs", "events"] == old_reader.getAvailableCategories()
    ids = {i.name: i.id for i in old.categories["events"]}  # joined from idTable + tuples
    assert ids["MCParticles"] == 0xA1CBA250 and ids["EventHeader"] == 0xD793AB91
    assert all(v == collection_id(k) for k, v in ids.items())
    assert '"schema_version": 2' in old_reader.datamodel_definition("edm4hep").replace(" ", " ")


def test_relations_resolve_in_real_file() -> None:
    from k4mlinference.io import Reader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = Reader(DDSIM).get("events")[3]
        # CaloHitContribution -> MCParticle, with MCParticles not read yet (loaded through the relation)
        contribs = frame.get("ECalBarrelCollectionContributions")
        assert "MCParticles" not in frame._colls
        rel = contribs.relation_view("particle")
        p = contribs[0].getParticle()
        assert p is not None and p.getIndex() == rel["index"][0]
        mcps = frame.get("MCParticles")
        assert p.getPDG() == mcps.view("PDG")[rel["index"][0]]
        # SimCalorimeterHit -> contributions
        hits = frame.get("ECalBarrelCollection")
        h = hits[0]
        assert [c.getIndex() for c in h.getContributions()] == list(
            range(*[int(x[0]) for x in hits.ranges("contributions")])
        )
        # MCParticle parents / daughters are consistent both ways
        n_links = 0
        for i in range(len(mcps)):
            for d in mcps[i].getDaughters():
                assert d is not None and any(q.getIndex() == i for q in d.getParents())
                n_links += 1
        assert n_links > 10
        assert mcps[0].getDaughters()[0].getPDG() == mcps.view("PDG")[mcps.relation_view("daughters")["index"][0]]


def test_relations_all_types_file() -> None:
    from k4mlinference.io import Reader

    frame = Reader(PODIO17).get("events")[0]
    cluster = frame.get("ClusterCollection")[0]
    hits = cluster.getHits()
    assert hits and hits[0].getCollection().getID() == frame.get("CalorimeterHitCollection").getID()
    contrib = frame.get("CaloHitContributionCollection")[0]
    assert contrib.getParticle() == frame.get("MCParticleCollection")[contrib.particleID().index]
    link = frame.get("RecoMCParticleLinkCollection")[0]
    assert link.getFrom().getObjectID().collectionID == frame.get("ReconstructedParticleCollection").getID()
    assert link.getTo() == frame.get("MCParticleCollection")[link.toID().index]


def test_schema_evolution_warns_once_with_member_names() -> None:
    from k4mlinference.io import Reader, SchemaEvolutionWarning, evolution

    evolution.forget_warnings()
    with pytest.warns(SchemaEvolutionWarning) as rec:
        reader = Reader(DDSIM)
        for frame in reader.get("events")[:2]:
            frame.get("MCParticles")
            frame.get("EventHeader")
    msgs = [str(w.message) for w in rec if issubclass(w.category, SchemaEvolutionWarning)]
    mc = [m for m in msgs if "edm4hep::MCParticle " in m]
    assert len(mc) == 1, msgs
    assert "spin" in mc[0] and "colorFlow" in mc[0] and "helicity" in mc[0] and "schema 2" in mc[0]
    assert sum("edm4hep::EventHeader " in m for m in msgs) == 1
    # the current-schema file needs no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", SchemaEvolutionWarning)
        f = Reader(PODIO17).get("events")[0]
        for n in f.getAvailableCollections():
            f.get(n)


def test_parameters_and_categories() -> None:
    from k4mlinference.io import Reader

    r = Reader(DDSIM)
    meta = r.get("metadata")
    assert len(meta) == 1
    params = meta[0].parameters
    enc = {k: v for k, v in params.items() if k.endswith("__CellIDEncoding")}
    assert enc and all(isinstance(v, str) and "system" in v for v in enc.values())
    assert meta[0].getParameter(next(iter(enc))) == enc[next(iter(enc))]
    assert meta[0].getAvailableCollections() == []
    assert len(r.get("runs")) == 1


def test_podio_python_spellings() -> None:
    """A script written for podio's Python API (reader.get, frame.collections, get_parameter,
    get_datamodel_definition) runs on our Reader unchanged."""
    import json

    from k4mlinference.io import Reader

    reader = Reader(DDSIM)
    event = reader.get("events")[0]
    assert "MCParticles" in event.collections and isinstance(event.collections, tuple)
    assert len(event.get("MCParticles")) > 0
    meta = reader.get("metadata")[0]
    key = next(k for k in meta.parameters if k.endswith("__CellIDEncoding"))
    assert meta.get_parameter(key) == meta.getParameter(key)
    assert "components" in json.loads(reader.get_datamodel_definition("edm4hep"))


def test_list_of_files_reads_as_one_stream() -> None:
    from k4mlinference.io import Reader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = Reader([DDSIM, PODIO17, DDSIM])
        ev = r.get("events")
        assert len(ev) == 10 + 3 + 10 == r.getEntries("events")
        assert ev[10].getAvailableCollections()[0] == "CaloHitContributionCollection"
        assert len(ev[12].get("MCParticleCollection")) == 3
        a, b = ev[0].get("MCParticles"), ev[-10].get("MCParticles")
        np.testing.assert_array_equal(a.view("momentum.x"), b.view("momentum.x"))
        assert sum(1 for _ in ev) == 23


def test_lazy_reading_and_restriction() -> None:
    from k4mlinference.io import Reader

    r = Reader(PODIO17)
    ev = r.get("events", collections=["MCParticleCollection", "EventHeader"])
    f = ev[2]
    assert f.getAvailableCollections() == ["MCParticleCollection", "EventHeader"]
    assert f._colls == {}
    f.get("EventHeader")
    assert list(f._colls) == ["EventHeader"]
    with pytest.raises(KeyError, match="available: MCParticleCollection, EventHeader"):
        f.get("ClusterCollection")
    with pytest.raises(KeyError, match="NoSuchCollection.*available: CaloHitContributionCollection"):
        r.get("events", collections=["NoSuchCollection"])
