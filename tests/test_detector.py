"""Detector helpers: DD4hep-style cellID coding, the shipped geometry, deposits -> hits."""

import numpy as np
import pytest

from k4mlinference import edm
from k4mlinference.algorithms.sim.hits import deposits_to_hits
from k4mlinference.detector import BitFieldCoder, CalorimeterGeometry


def test_bitfield_round_trip_with_signed_fields():
    coder = BitFieldCoder("system:5,layer:6,module:4,x:32:-16,y:-16")
    assert coder.field_names == ["system", "layer", "module", "x", "y"]
    assert coder.fields["x"].offset == 32 and coder.fields["y"].offset == 48 and coder.fields["y"].signed
    rng = np.random.default_rng(3)
    values = {
        "system": rng.integers(0, 32, 1000),
        "layer": rng.integers(0, 64, 1000),
        "module": rng.integers(0, 16, 1000),
        "x": rng.integers(-32768, 32768, 1000),
        "y": rng.integers(-32768, 32768, 1000),
    }
    ids = coder.encode(**values)
    assert ids.dtype == np.uint64
    decoded = coder.decode(ids)
    for name, v in values.items():
        np.testing.assert_array_equal(decoded[name], v)
    # DD4hep's layout: y=-1 fills the top 16 bits, x=1 sets bit 32
    assert int(coder.encode(x=1)[()]) == 1 << 32
    assert int(coder.encode(y=-1)[()]) == 0xFFFF << 48
    assert coder.get(ids, "module").tolist() == values["module"].tolist()


@pytest.mark.parametrize(
    "encoding, message",
    [("system:5,layer", "not 'name:width'"), ("a:40,b:30", "64 bits"), ("a:8,b:4:8", "overlap"), ("a:4,a:4", "twice")],
)
def test_bitfield_bad_encodings(encoding, message):
    with pytest.raises(ValueError, match=message):
        BitFieldCoder(encoding)


def test_bitfield_out_of_range_values_name_the_field():
    coder = BitFieldCoder("system:5,x:-4")
    with pytest.raises(ValueError, match="'x'"):
        coder.encode(system=1, x=8)
    with pytest.raises(KeyError, match="no field"):
        coder.encode(phi=1)


@pytest.fixture(scope="module")
def geo():
    return CalorimeterGeometry.load("toy_calo")


def test_geometry_has_sections_and_materials(geo):
    names = [s.name for s in geo.sections]
    assert names == ["ECalBarrel", "ECalEndcap", "HCalBarrel", "HCalEndcap"]
    ecal = geo.sections[0].material
    assert ecal.X0 > 0 and ecal.moliere_radius > 0 and ecal.lambda_I > 0 and 0 < ecal.sampling_fraction < 1
    assert geo.sections[0].depth / ecal.X0 >= 20  # an EM calorimeter contains electron showers
    hcal = geo.sections[2]
    assert hcal.inner_radius >= geo.sections[0].outer_radius  # behind the EM barrel
    assert geo.collection == "SimCalorimeterHits" and "system" in geo.coder.field_names


@pytest.mark.parametrize("section", ["ECalBarrel", "ECalEndcap", "HCalBarrel", "HCalEndcap"])
def test_cellid_round_trip_per_section(geo, section):
    """point -> cellID -> cell centre -> the same cellID, for barrels and both endcaps."""
    i = geo.section_index(section)
    s = geo.sections[i]
    rng = np.random.default_rng(i)
    n = 20000
    if s.kind == "barrel":
        r = rng.uniform(s.inner_radius, s.outer_radius, n)
        phi = rng.uniform(-np.pi, np.pi, n)
        pts = np.c_[r * np.cos(phi), r * np.sin(phi), rng.uniform(-s.outer_z, s.outer_z, n)]
    else:
        r = rng.uniform(s.inner_radius + 2 * s.cell_size, s.outer_radius - 2 * s.cell_size, n)
        phi = rng.uniform(-np.pi, np.pi, n)
        z = rng.uniform(s.inner_z, s.outer_z, n) * rng.choice([-1, 1], n)
        pts = np.c_[r * np.cos(phi), r * np.sin(phi), z]
    cells, sec = geo.locate(pts)
    assert (sec == i).all()
    fields = geo.coder.decode(cells)
    assert (fields["system"] == s.system).all() and fields["layer"].max() < s.layers
    if s.kind == "endcap":
        np.testing.assert_array_equal(fields["side"], np.sign(pts[:, 2]))
    centres = geo.cell_centres(cells)
    assert np.all(np.abs(centres - pts).max(axis=1) < s.cell_size * max(1.0, s.outer_radius / s.inner_radius))
    again, sec2 = geo.locate(centres)
    np.testing.assert_array_equal(again, cells)
    np.testing.assert_array_equal(sec2, sec)


def test_entry_points_barrel_and_endcap(geo):
    point, sec, path = geo.entry(np.zeros((3, 3)), np.array([[1.0, 0, 0], [0.3, 0, 1.0], [0.0, 0.0, 1.0]]))
    assert sec.tolist() == [0, 1, -1]  # along the beam axis there is no calorimeter
    np.testing.assert_allclose(point[0], [1500.0, 0, 0])
    np.testing.assert_allclose(point[1, 2], 1800.0)
    np.testing.assert_allclose(path[1], np.linalg.norm(point[1]))


def test_unknown_geometry_lists_the_shipped_ones():
    with pytest.raises(FileNotFoundError, match="toy_calo"):
        CalorimeterGeometry.load("no_such_detector")


def test_deposits_to_hits_sums_cells_and_keeps_contributions(geo):
    mcps = edm.build_collection("edm4hep::MCParticleCollection", PDG=np.array([11, -211]))
    frame = edm.Frame()
    frame.put(mcps, "MCParticles")
    pos = np.array([[1501.0, 1.0, 3.0], [1502.0, 2.0, 4.0], [1503.0, 1.5, 5.0], [1800.0, 0.0, 0.0], [9000.0, 0, 0]])
    energy = np.array([1.0, 2.0, 0.5, 4.0, 8.0])
    hits, contribs = deposits_to_hits(
        geo, pos, energy, np.array([0, 0, 1, 1, 0]), np.arange(5.0), np.array([11, 11, -211, -211, 11]), particles=mcps
    )
    frame.put(contribs, "SimCaloHitContributions")
    frame.put(hits, "SimCalorimeterHits")
    assert len(hits) == 2 and len(contribs) == 3  # two cells; the first has two particles; one deposit outside
    f_e, f_h = geo.sections[0].material.sampling_fraction, geo.sections[2].material.sampling_fraction
    np.testing.assert_allclose(sorted(hits.view("energy")), sorted([3.5 * f_e, 4.0 * f_h]), rtol=1e-6)
    first = next(h for h in hits if abs(h.getEnergy() - 3.5 * f_e) < 1e-6)
    parts = {c.getParticle().getPDG(): c.getEnergy() for c in first.getContributions()}
    assert parts == pytest.approx({11: 3.0 * f_e, -211: 0.5 * f_e})
    np.testing.assert_allclose(sum(c.getEnergy() for c in contribs), hits.view("energy").sum(), rtol=1e-6)
    centre = geo.cell_centres(np.array([first.getCellID()], dtype=np.uint64))[0]
    assert first.getPosition().x == pytest.approx(centre[0])
