"""Files we write open in podio: the ROOT streamer info (class version and checksum) of every class we
write equals that of podio-written files holding the same class.

The references are the real files in ../shared/data/edm4hep: `edm4hep1_all_types_podio1.7.root`
(podio 1.7, EDM4hep 1.0: every EDM4hep type) and `ddsim_odd_piplus_edm4hep0.99.root` (podio 1.2,
EDM4hep 0.99). The EDM4hep classes are compared with the EDM4hep 1.0 file only (0.99 is another schema
version of the same names: its classes legitimately differ); podio's own classes and the standard
library ones with both.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_io_real_files import PODIO17
from test_io_roundtrip import make_frame

PODIO12 = PODIO17.parent / "ddsim_odd_piplus_edm4hep0.99.root"
# written by us, in no podio file: nothing to compare with (EDM4eic's Tensor is not in EDM4hep)
NO_REFERENCE = {"edm4eic::TensorData"}


def streamer_infos(path: Path) -> dict[str, tuple[int, int]]:
    """class name -> (class version, checksum) of the TStreamerInfo records stored in a ROOT file."""
    import ROOT

    f = ROOT.TFile.Open(str(path))
    try:
        out = {}
        for si in f.GetStreamerInfoList():
            if si.IsA().GetName() == "TStreamerInfo":
                out[str(si.GetName())] = (int(si.GetClassVersion()), int(si.GetCheckSum()))
        return out
    finally:
        f.Close()


def ours_and_references(path: Path) -> tuple[dict, dict]:
    ours = {k: v for k, v in streamer_infos(path).items() if not k.startswith(("T", "ROOT::"))}
    refs = {"podio 1.7 / EDM4hep 1.0": streamer_infos(PODIO17), "podio 1.2 / EDM4hep 0.99": streamer_infos(PODIO12)}
    return ours, refs


def mismatches(ours: dict, refs: dict) -> tuple[list[str], set[str]]:
    """(differences, classes compared with at least one reference)."""
    diffs, checked = [], set()
    for name, (version, checksum) in sorted(ours.items()):
        for label, ref in refs.items():
            if name not in ref or (name.startswith("edm4hep::") and "EDM4hep 1.0" not in label):
                continue
            checked.add(name)
            rv, rc = ref[name]
            if (rv, rc) != (version, checksum):
                diffs.append(f"{name}: ours version {version} checksum {checksum}, {label} version {rv} checksum {rc}")
    return diffs, checked


@pytest.fixture(scope="module")
def written(tmp_path_factory, shared_data) -> Path:
    from k4mlinference.io import Writer

    path = tmp_path_factory.mktemp("streamers") / "all_types.root"
    with Writer(path) as w:
        w.write_frame(make_frame(0), "events")
    return path


def test_every_class_we_write_matches_podio_streamers(written) -> None:
    ours, refs = ours_and_references(written)
    assert any(n.startswith("edm4hep::") for n in ours) and "podio::ObjectID" in ours
    diffs, checked = mismatches(ours, refs)
    assert not diffs, "streamer info differs from podio's:\n" + "\n".join(diffs)
    unchecked = set(ours) - checked - NO_REFERENCE
    assert not unchecked, f"classes we write that no podio-written reference file holds: {sorted(unchecked)}"


def test_a_changed_class_version_or_member_is_reported(written) -> None:
    """The comparison fails when a class differs (what a wrong ClassVersion or member order would give)."""
    ours, refs = ours_and_references(written)
    version, checksum = ours["edm4hep::MCParticleData"]
    diffs, _ = mismatches({**ours, "edm4hep::MCParticleData": (version + 1, checksum)}, refs)
    assert diffs == [f"edm4hep::MCParticleData: ours version {version + 1} checksum {checksum}, podio 1.7 / EDM4hep 1.0 "
                     f"version {version} checksum {checksum}"]  # fmt: skip
    diffs, _ = mismatches({**ours, "podio::ObjectID": (1, ours["podio::ObjectID"][1] ^ 1)}, refs)
    assert len(diffs) == 2 and all(d.startswith("podio::ObjectID:") for d in diffs)  # against both files
