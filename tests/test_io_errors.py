"""Error cases of the podio I/O: every message names the file and says what is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def good_file(tmp_path_factory) -> Path:
    from k4mlinference import edm
    from k4mlinference.io import Frame, Writer

    path = tmp_path_factory.mktemp("err") / "good.root"
    with Writer(path) as w:
        for e in range(20):
            f = Frame()
            mc = edm.edm4hep.MCParticleCollection()
            for i in range(200):
                mc.create(PDG=i + e, momentum=(0.1 * i, 1.0, 2.0))
            f.put(mc, "MCParticles")
            w.write_frame(f, "events")
    return path


def test_missing_file(tmp_path) -> None:
    from k4mlinference.io import PodioFileError, Reader

    missing = tmp_path / "nope.root"
    with pytest.raises(PodioFileError, match=f"{missing}: no such file") as exc:
        Reader(missing)
    assert isinstance(exc.value, OSError) and exc.value.path == str(missing)
    with pytest.raises(PodioFileError, match="no such file"):
        Reader([str(missing)])


def test_not_a_root_file(tmp_path) -> None:
    from k4mlinference.io import PodioFileError, Reader

    p = tmp_path / "text.root"
    p.write_text("hello, I am not ROOT\n")
    with pytest.raises(PodioFileError, match=f"{p}: not a ROOT file"):
        Reader(p)
    with pytest.raises(PodioFileError, match="is a directory"):
        Reader(tmp_path)


def test_root_file_that_is_not_podio(tmp_path) -> None:
    import ROOT

    from k4mlinference.io import PodioFileError, Reader

    p = tmp_path / "plain.root"
    f = ROOT.TFile(str(p), "RECREATE")
    t = ROOT.TTree("events", "not podio")
    t.Write()
    f.Close()
    with pytest.raises(PodioFileError, match=f"{p}: not a podio file: no podio_metadata \\(keys: events\\)"):
        Reader(p)


@pytest.mark.parametrize("fraction", [0.02, 0.5, 0.97])
def test_truncated_file(good_file: Path, tmp_path, fraction: float) -> None:
    from k4mlinference.io import PodioFileError, Reader

    data = good_file.read_bytes()
    p = tmp_path / f"truncated_{fraction}.root"
    p.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(PodioFileError, match=f"{p}: .*(truncated|corrupt)"):
        r = Reader(p)
        for frame in r.get("events"):
            frame.get("MCParticles")


def test_corrupt_basket(good_file: Path, tmp_path) -> None:
    """Garbage inside the compressed event data: an error naming file, collection and entry."""
    import ROOT

    from k4mlinference.io import PodioFileError, Reader

    # find a basket of the PDG leaf and overwrite its compressed payload
    tf = ROOT.TFile.Open(str(good_file))
    br = tf.Get("events").GetBranch("MCParticles.PDG")
    seek, nbytes = int(br.GetBasketSeek(0)), int(br.GetBasketBytes()[0])
    tf.Close()
    data = bytearray(good_file.read_bytes())
    for i in range(seek + 80, seek + nbytes - 8):
        data[i] ^= 0x5A
    p = tmp_path / "corrupt.root"
    p.write_bytes(bytes(data))
    old = ROOT.gErrorIgnoreLevel
    ROOT.gErrorIgnoreLevel = ROOT.kFatal  # ROOT's own messages are expected here
    try:
        with pytest.raises(PodioFileError, match=f"{p}: reading collection 'MCParticles' of entry 0 .*corrupt"):
            Reader(p).get("events")[0].get("MCParticles")
    finally:
        ROOT.gErrorIgnoreLevel = old


def test_unknown_collection_and_category(good_file: Path) -> None:
    from k4mlinference.io import Reader

    r = Reader(good_file)
    frame = r.get("events")[0]
    with pytest.raises(KeyError, match="no collection 'Nope'.*available: MCParticles"):
        frame.get("Nope")
    with pytest.raises(KeyError, match="no category 'runs'.*available: events"):
        r.get("runs")
    with pytest.raises(IndexError, match="frame 20 out of range: category 'events' has 20 entries"):
        r.get("events")[20]
    with pytest.raises(KeyError, match="Nope.*available: MCParticles"):
        r.get("events", collections=["Nope"])


def test_writer_exception_leaves_nothing(tmp_path) -> None:
    from k4mlinference import edm
    from k4mlinference.io import Frame, Writer

    final = tmp_path / "out.root"
    with pytest.raises(RuntimeError, match="boom"):
        with Writer(final) as w:
            f = Frame()
            f.put(edm.edm4hep.MCParticleCollection(), "MCParticles")
            w.write_frame(f, "events")
            assert not final.exists()  # written under a temporary name meanwhile
            assert len(list(tmp_path.iterdir())) == 1
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_killed_writer_leaves_no_final_file(tmp_path) -> None:
    """A writer process that dies (os._exit, no cleanup) leaves nothing under the final name."""
    final = tmp_path / "killed.root"
    script = textwrap.dedent(
        f"""
        import os, warnings
        warnings.simplefilter("ignore")
        from k4mlinference import edm
        from k4mlinference.io import Frame, Writer
        w = Writer({str(final)!r})
        for e in range(50):
            f = Frame()
            mc = edm.edm4hep.MCParticleCollection()
            mc.create(PDG=e)
            f.put(mc, "MCParticles")
            w.write_frame(f, "events")
        print("wrote", flush=True)
        os._exit(3)
        """
    )
    res = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert res.returncode == 3, res.stderr[-2000:]
    assert "wrote" in res.stdout
    assert not final.exists()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert all(n.startswith(".killed.root.") and n.endswith(".tmp") for n in leftovers), leftovers


def test_unfinished_writer_is_discarded(tmp_path) -> None:
    from k4mlinference.io import Writer

    w = Writer(tmp_path / "never.root")
    with pytest.warns(UserWarning, match="never finished"):
        w.__del__()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(Exception, match="does not exist"):
        Writer(tmp_path / "no" / "such" / "dir.root")


def test_url_scheme_goes_to_root(tmp_path) -> None:
    """root:// paths are handed to TFile::Open (XRootD), not rejected; no server here -> clear error."""
    script = textwrap.dedent(
        """
        import warnings
        warnings.simplefilter("ignore")
        from k4mlinference.io import PodioFileError, Reader
        try:
            Reader("root://localhost:1//store/none.root")
        except PodioFileError as exc:
            print("ERR", exc)
        """
    )
    env = dict(
        os.environ, XRD_CONNECTIONRETRY="1", XRD_CONNECTIONWINDOW="1", XRD_REQUESTTIMEOUT="2", XRD_STREAMTIMEOUT="2"
    )
    try:
        res = subprocess.run(
            [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=90
        )
    except subprocess.TimeoutExpired:
        pytest.skip("XRootD did not give up within 90 s on this machine")
    assert "ERR root://localhost:1//store/none.root: cannot be opened" in res.stdout, res.stdout + res.stderr[-2000:]


def test_uncompilable_type_is_skipped_with_warning(tmp_path, good_file: Path) -> None:
    """A collection whose type we do not have and the file does not define: warning, others readable."""
    import ROOT

    from k4mlinference.io import Reader, SkippedCollectionWarning
    from k4mlinference.io.native import cppyy_io

    cppyy_io()  # podio's metadata types, also when this test runs alone
    p = tmp_path / "unknown_type.root"
    import shutil

    shutil.copy(good_file, p)
    # rename the type in the metadata to one nobody defines
    f = ROOT.TFile.Open(str(p), "UPDATE")
    md = f.Get("podio_metadata")
    md.GetEntry(0)
    infos = md.events___CollectionTypeInfo
    import cppyy

    vec = cppyy.gbl.std.vector["podio::root_utils::CollectionWriteInfo"]()
    for e in infos:
        e2 = cppyy.gbl.podio.root_utils.CollectionWriteInfo(e)
        e2.dataType = "mydm::ThingCollection"
        vec.push_back(e2)
    vec2 = cppyy.gbl.std.vector["podio::root_utils::CollectionWriteInfo"](vec)
    t2 = md.CloneTree(0)
    t2.SetBranchAddress("events___CollectionTypeInfo", vec2)
    t2.Fill()
    t2.Write("", ROOT.TObject.kOverwrite)
    f.Close()
    with pytest.warns(SkippedCollectionWarning, match="skipping 1 collection.*MCParticles: type mydm::ThingCollection"):
        frames = Reader(p).get("events")
    assert frames[0].getAvailableCollections() == []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception, match="MCParticles: type mydm::ThingCollection is unknown"):
            Reader(p).get("events", collections=["MCParticles"])


def test_collection_that_cannot_be_read_at_all(tmp_path, good_file: Path) -> None:
    """The file's branch holds another type than the collection type we map it to: a clear error."""
    import shutil

    from test_io_datamodels import _patch_metadata

    from k4mlinference.io import PodioFileError, Reader

    p = tmp_path / "mismatch.root"
    shutil.copy(good_file, p)
    _patch_metadata(p, types={"MCParticles": "edm4hep::SimTrackerHitCollection"})
    frame = Reader(p).get("events")[0]
    with pytest.raises(
        PodioFileError,
        match=f"{p}: collection 'MCParticles' \\(edm4hep::SimTrackerHitCollection\\) cannot be read: branch 'MCParticles' "
        "holds vector<edm4hep::MCParticleData>, but the collection stores vector<edm4hep::SimTrackerHitData>",
    ):
        frame.get("MCParticles")


def test_frames_after_reader_closed(good_file: Path) -> None:
    from k4mlinference.io import PodioFileError, Reader

    with Reader(good_file) as r:
        frames = r.get("events")
        first = frames[0]
        assert len(first.get("MCParticles")) == 200
        later = frames[1]
    assert len(first.get("MCParticles")) == 200  # already read: still there
    with pytest.raises(PodioFileError, match=f"{good_file}: .*Reader was closed"):
        later.get("MCParticles")
