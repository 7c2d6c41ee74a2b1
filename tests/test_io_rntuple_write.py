"""RNTuple writing in podio's RNTuple layout: `Writer(path, backend="rntuple")` and IOSvc.OutputType.

Read back by our Reader (every datamodel type, relations, a subset collection, parameters), by
ROOT's own RNTupleReader (the podio_metadata fields and their types) and by RDataFrame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_io_roundtrip import EVENTS, all_columns, make_frame


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, list]:
    from k4mlinference import edm
    from k4mlinference.io import Writer

    path = tmp_path_factory.mktemp("rntuple") / "all_types_rntuple.root"
    frames = [make_frame(e) for e in range(EVENTS)]
    for f in frames:  # a subset collection too: every other MCParticle
        mc = f.get("MCParticles")
        sub = edm.subset_collection("edm4hep::MCParticleCollection")
        for i in range(0, len(mc), 2):
            sub.append(mc[i])
        f.put(sub, "EvenMCParticles")
    with Writer(path, backend="rntuple") as w:
        for f in frames:
            w.write_frame(f, "events")
        run = type(frames[0])()
        run.putParameter("run", 7)
        w.write_frame(run, "runs")
    return path, frames


def test_rntuple_roundtrip_our_reader(written) -> None:
    from k4mlinference.edm import tensor
    from k4mlinference.io import Reader

    path, frames = written
    reader = Reader(path)
    md = reader.metadata[0]
    assert md.backend == "RNTuple" and md.podio_version >= (1, 0, 0) and md.datamodel_versions["edm4hep"]
    assert reader.categories == ["events", "runs"]
    back = reader.get("events")
    assert len(back) == EVENTS
    for f, g in zip(frames, back):
        assert sorted(g.getAvailableCollections()) == sorted(f.getAvailableCollections())
        sub = g.get("EvenMCParticles")
        assert sub.isSubsetCollection() and [p.getIndex() for p in sub] == list(range(0, len(f.get("MCParticles")), 2))
        f.remove("EvenMCParticles")  # all_columns compares collections with data of their own
        g.remove("EvenMCParticles")
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
    frame = back[1]
    mc = frame.get("MCParticles")
    assert mc[1].getParents()[0] == mc[1] and frame.get("RecoMCParticleLink")[0].getTo() == mc[1]


def test_rntuple_podio_metadata_layout(written) -> None:
    import ROOT

    from k4mlinference.io.native import cppyy_io

    path, _ = written
    f = ROOT.TFile.Open(str(path))
    try:
        assert f.GetKey("podio_metadata").GetClassName() == "ROOT::RNTuple"
        assert f.GetKey("events").GetClassName() == "ROOT::RNTuple"
        reader = ROOT.RNTupleReader.Open(f.Get("podio_metadata"))
        desc = reader.GetDescriptor()
        types = {str(fd.GetFieldName()): str(fd.GetTypeName()) for fd in desc.GetTopLevelFields()}
        assert types["PodioBuildVersion"] == "std::vector<std::uint16_t>"
        assert types["edm4hep___Version"] == "std::vector<std::uint16_t>"
        assert types["availableCategories"] == "std::vector<std::string>"
        assert types["EDMDefinitions"] == "std::vector<std::tuple<std::string,std::string>>"
        assert types["events___CollectionTypeInfo"] == "std::vector<podio::root_utils::CollectionWriteInfo>"
        del desc, reader
        # the contents, through the C++ helper (RNTupleViews made from Python crash when garbage-collected
        # after their reader)
        raw = cppyy_io().readNTupleMetadata(f)
        assert [str(c) for c in raw.categories] == ["events", "runs"]
        by_name = {str(i.name): i for i in raw.typeInfo["events"]}
        assert by_name["EvenMCParticles"].isSubset and not by_name["MCParticles"].isSubset
        assert str(by_name["MCParticles"].storageType) == "std::vector<edm4hep::MCParticleData>"
        events = ROOT.RNTupleReader.Open(f.Get("events"))
        fields = {str(fd.GetFieldName()): str(fd.GetTypeName()) for fd in events.GetDescriptor().GetTopLevelFields()}
        del events
        assert fields["MCParticles"] == "std::vector<edm4hep::MCParticleData>"
        assert fields["_MCParticles_parents"] == "std::vector<podio::ObjectID>"
        assert fields["EvenMCParticles_objIdx"] == "std::vector<podio::ObjectID>"
        assert fields["UserInts"] == "std::vector<std::int32_t>"
        assert fields["GPIntValues"] == "std::vector<std::vector<std::int32_t>>"
    finally:
        f.Close()


def test_rntuple_read_by_rdataframe(written) -> None:
    import ROOT

    path, frames = written
    df = ROOT.RDataFrame("events", str(path))
    assert int(df.Count().GetValue()) == EVENTS
    pdg = df.Take["ROOT::RVec<int>"]("MCParticles.PDG").GetValue()
    for f, col in zip(frames, pdg):
        np.testing.assert_array_equal(np.asarray(col), f.get("MCParticles").view("PDG"))
    idx = df.Take["ROOT::RVec<int>"]("EvenMCParticles_objIdx.index").GetValue()
    assert [list(v) for v in idx] == [[0, 2]] * EVENTS


def test_unknown_backend_is_refused(tmp_path: Path) -> None:
    from k4mlinference.io import Writer

    with pytest.raises(ValueError, match="unknown output backend 'hdf5'"):
        Writer(tmp_path / "x.root", backend="hdf5")
    assert not list(tmp_path.iterdir())


def test_framework_output_type_rntuple(tmp_path: Path) -> None:
    """IOSvc.OutputType = "rntuple" (here through framework.run's output_type) writes RNTuple."""
    from k4mlinference.algorithms.sim.generators import ParticleGun
    from k4mlinference.framework import ConfigurationError, run
    from k4mlinference.io import Reader

    out = tmp_path / "gun.root"
    run([ParticleGun("Gun")], evt_max=3, output=str(out), output_type="rntuple")
    with Reader(out) as r:
        assert r.metadata[0].backend == "RNTuple"
        frames = r.get("events")
        assert len(frames) == 3 and all(len(f.get(n)) for f in frames for n in f.getAvailableCollections())
    with pytest.raises(ConfigurationError, match="OutputType"):
        run([ParticleGun("Gun2")], evt_max=1, output=str(tmp_path / "bad.root"), output_type="parquet")


def test_k4run_parallel_output_type_rntuple(tmp_path: Path) -> None:
    """--ncpus 2 with IOSvc.OutputType=rntuple: the chunks are merged into an RNTuple file."""
    from test_framework_k4run import OPTIONS, k4run

    from k4mlinference.io import Reader

    args = ["-n", "4", "--IOSvc.Output=par.root", "--IOSvc.OutputType=rntuple", "--ncpus", "2"]
    k4run(str(OPTIONS / "gun_digitize.py"), *args, cwd=tmp_path)
    with Reader(tmp_path / "par.root") as r:
        assert r.metadata[0].backend == "RNTuple"
        frames = r.get("events")
        assert [int(f.get("EventHeader").view("eventNumber")[0]) for f in frames] == [0, 1, 2, 3]
        assert all(len(f.get("CaloClusters")) == 1 for f in frames)


def test_rntuple_writer_aborted_leaves_no_file(tmp_path: Path) -> None:
    from k4mlinference.io import Writer

    with pytest.raises(RuntimeError, match="stop"):
        with Writer(tmp_path / "aborted.root", backend="rntuple") as w:
            w.write_frame(make_frame(0), "events")
            raise RuntimeError("stop")
    assert not list(tmp_path.iterdir())
