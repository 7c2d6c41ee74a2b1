"""HepMC3Reader: a tiny HepMC3 file written with pyhepmc (MeV / cm, to check the unit conversion) is read back
into MCParticles with PythiaGenerator's columns and relations, also out of order and through the detector."""

from __future__ import annotations

import numpy as np
import pyhepmc
import pytest

from k4mlinference.algorithms.flavour import FlavourDetectorResponse, HepMC3Reader


def write_events(path, n: int) -> None:
    """n events e+e- -> Z -> K0S pi+ pi-, K0S -> pi+ pi- decaying at x = (10 + event) mm, z = 2 mm; MeV and cm."""
    with pyhepmc.open(path, "w") as f:
        for k in range(n):
            evt = pyhepmc.GenEvent(pyhepmc.Units.MEV, pyhepmc.Units.CM)
            evt.event_number = k
            beam_m = pyhepmc.GenParticle((0, 0, 45600, 45600), 11, 4)
            beam_p = pyhepmc.GenParticle((0, 0, -45600, 45600), -11, 4)
            z = pyhepmc.GenParticle((0, 0, 0, 91200), 23, 2)
            k0s = pyhepmc.GenParticle((20000, 0, 0, 20006.19), 310, 2)
            pip = pyhepmc.GenParticle((-10000, 5000, 0, 11181), 211, 1)
            pim = pyhepmc.GenParticle((-10000, -5000, 1000, 11226), -211, 1)
            d1 = pyhepmc.GenParticle((10000, 150, 0, 10002), 211, 1)
            d2 = pyhepmc.GenParticle((10000, -150, 0, 10002), -211, 1)
            v_ee = pyhepmc.GenVertex((0, 0, 0, 0))
            v_ee.add_particle_in(beam_m)
            v_ee.add_particle_in(beam_p)
            v_ee.add_particle_out(z)
            v_z = pyhepmc.GenVertex((0, 0, 0, 0))
            v_z.add_particle_in(z)
            for p in (k0s, pip, pim):
                v_z.add_particle_out(p)
            v_k = pyhepmc.GenVertex(((10 + k) / 10.0, 0, 0.2, (10 + k) / 10.0))  # cm, c*t in cm
            v_k.add_particle_in(k0s)
            v_k.add_particle_out(d1)
            v_k.add_particle_out(d2)
            for v in (v_ee, v_z, v_k):
                evt.add_vertex(v)
            f.write(evt)


@pytest.fixture()
def hepmc_file(tmp_path):
    path = tmp_path / "tiny.hepmc3"
    write_events(str(path), 3)
    return path


def reader(path, name: str) -> HepMC3Reader:
    r = HepMC3Reader(name, Input=str(path))
    r.initialize()
    return r


def columns(mc) -> dict:
    d = mc.data_view()
    out = {
        "pdg": d["PDG"].copy(), "status": d["generatorStatus"].copy(), "charge": d["charge"].copy(),
        "p": np.stack([d["momentum"][a] for a in "xyz"], axis=1).astype(float),
        "vertex": np.stack([d["vertex"][a] for a in "xyz"], axis=1).astype(float),
        "endpoint": np.stack([d["endpoint"][a] for a in "xyz"], axis=1).astype(float),
        "time": d["time"].copy(), "mass": d["mass"].copy(),
        "parents": [(int(b), int(e)) for b, e in zip(d["parents_begin"], d["parents_end"])],
    }  # fmt: skip
    del d
    out["parent_index"] = mc.relation_view("parents")["index"].copy()
    return out


def test_reads_particles_units_and_relations(hepmc_file) -> None:
    r = reader(hepmc_file, "HepMCReadAll")
    r.event_number = 0
    c = columns(r())
    np.testing.assert_array_equal(c["pdg"], [11, -11, 23, 310, 211, -211, 211, -211])
    np.testing.assert_array_equal(c["status"], [4, 4, 2, 2, 1, 1, 1, 1])
    np.testing.assert_array_equal(c["charge"], [-1, 1, 0, 0, 1, -1, 1, -1])
    np.testing.assert_allclose(c["p"][3], [20.0, 0.0, 0.0], rtol=1e-6)  # MeV -> GeV
    np.testing.assert_allclose(c["vertex"][6], [10.0, 0.0, 2.0], rtol=1e-6)  # cm -> mm
    np.testing.assert_allclose(c["endpoint"][3], [10.0, 0.0, 2.0], rtol=1e-6)
    np.testing.assert_allclose(c["endpoint"][5], [0.0, 0.0, 0.0])  # stable: no end vertex
    assert c["time"][6] == pytest.approx(10.0 / 299.792458, rel=1e-6)  # ns
    assert c["mass"][3] == pytest.approx(0.4976, abs=2e-3)  # from the four-momentum
    b, e = c["parents"][6]
    assert c["parent_index"][b:e].tolist() == [3]  # the K0S daughters point to the K0S
    r.finalize()


def test_events_in_any_order_and_through_the_detector(hepmc_file) -> None:
    r = reader(hepmc_file, "HepMCReadOrder")
    for event in (2, 1):  # a parallel worker may start anywhere; going back reopens the file
        r.event_number = event
        assert columns(r())["vertex"][6][0] == pytest.approx(10.0 + event, rel=1e-6)
    det = FlavourDetectorResponse("HepMCDetector", IPTailFraction=0.0, TrackingInefficiency=0.0)
    det.event_number = 1
    r.event_number = 1
    tracks, parts, links = det(r())
    assert len(tracks) == 4
    d0 = np.sort(np.abs(tracks.vector_view("trackStates")["D0"]))
    assert d0[0] < 0.1 and d0[-1] > 0.1  # the K0S daughters come from 11 mm: displaced
    r.event_number = 3
    with pytest.raises(EOFError, match=r"tiny.hepmc3.*only 3 events"):
        r()
    r.finalize()


def test_missing_file_is_named(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"HepMCMissing.*nothing.hepmc3"):
        reader(tmp_path / "nothing.hepmc3", "HepMCMissing")
