"""Handles, relation targets and views never read freed memory.

Each test makes a handle (or view) from a reader, frame and collection that go out of scope
straight away, then churns the allocator so that freed memory would be reused, and reads it.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import numpy as np
import pytest

N_EVENTS = 40


def churn() -> None:
    """Collect garbage and reuse freed memory, so a dangling read would see other data."""
    from k4mlinference import edm

    gc.collect()
    junk = []
    for _ in range(200):
        c = edm.edm4hep.MCParticleCollection()
        for _ in range(20):
            c.create(PDG=-999_999, mass=-1.0)
        junk.append(c)
    junk.append(np.full(1 << 16, 0x7F, dtype=np.uint8))
    del junk
    gc.collect()


@pytest.fixture(scope="module")
def events_file(tmp_path_factory) -> Path:
    """Events with a header, particles (parents/daughters), hits and clusters pointing at the hits."""
    from k4mlinference import edm
    from k4mlinference.io import Frame, Writer

    path = tmp_path_factory.mktemp("life") / "events.root"
    with Writer(path) as w:
        for e in range(N_EVENTS):
            f = Frame()
            hdr = edm.edm4hep.EventHeaderCollection()
            hdr.create(eventNumber=e, runNumber=7)
            mc = edm.edm4hep.MCParticleCollection()
            parent = mc.create(PDG=1000 + e, mass=float(e))
            child = mc.create(PDG=2000 + e)
            parent.addToDaughters(child)
            child.addToParents(parent)
            hits = edm.edm4hep.CalorimeterHitCollection()
            for i in range(3):
                hits.create(energy=10.0 * e + i)
            clusters = edm.edm4hep.ClusterCollection()
            cl = clusters.create(energy=float(e))
            for i in range(3):
                cl.addToHits(hits[i])
            f.put(hdr, "EventHeader")
            f.put(mc, "MCParticles")
            f.put(hits, "CalorimeterHits")
            f.put(clusters, "Clusters")
            w.write_frame(f, "events")
    return path


def test_handle_from_temporary_reader_frame_collection(events_file) -> None:
    from k4mlinference.io import Reader

    header = Reader(events_file).get("events")[37].get("EventHeader")[0]
    particle = Reader(events_file).get("events")[21].get("MCParticles")[0]
    churn()
    assert header.getEventNumber() == 37
    assert header.getRunNumber() == 7
    assert particle.getPDG() == 1021
    assert particle.getMass() == 21.0


def test_iterated_and_created_handles_keep_the_collection(edm) -> None:
    coll = edm.edm4hep.MCParticleCollection()
    made = coll.create(PDG=5)
    coll.create(PDG=6)
    iterated = list(coll)
    mutable = coll.mutableAt(1)
    ref = weakref.ref(coll)
    del coll
    churn()
    assert ref() is not None  # the handles hold it
    assert made.getPDG() == 5
    assert [h.getPDG() for h in iterated] == [5, 6]
    mutable.setPDG(16)
    assert iterated[1].getPDG() == 16


def test_relation_targets_after_the_frame_is_gone(events_file) -> None:
    from k4mlinference.io import Reader

    # the cluster's hits live in another collection, read only when the relation is followed
    cluster = Reader(events_file).get("events")[12].get("Clusters")[0]
    daughter_of = Reader(events_file).get("events")[3].get("MCParticles")[0]
    churn()
    assert [h.getEnergy() for h in cluster.getHits()] == [120.0, 121.0, 122.0]
    assert daughter_of.getDaughters()[0].getPDG() == 2003
    assert daughter_of.getDaughters()[0].getParents()[0].getPDG() == 1003


def test_relation_targets_of_an_in_memory_frame(edm) -> None:
    frame = edm.Frame()
    hits = edm.edm4hep.CalorimeterHitCollection()
    for i in range(4):
        hits.create(energy=1.5 * i)
    clusters = edm.edm4hep.ClusterCollection()
    cl = clusters.create(energy=3.0)
    cl.addToHits(hits[2])
    cl.addToHits(hits[3])
    frame.put(hits, "Hits")
    frame.put(clusters, "Clusters")
    handle = frame.get("Clusters")[0]
    del frame, hits, clusters, cl
    churn()
    assert [h.getEnergy() for h in handle.getHits()] == [3.0, 4.5]


def test_views_outlive_collection_and_frame(events_file) -> None:
    from k4mlinference.io import Reader

    energies = Reader(events_file).get("events")[9].get("CalorimeterHits").view("energy")
    churn()
    np.testing.assert_array_equal(energies, [90.0, 91.0, 92.0])


def test_frames_nobody_holds_are_freed_at_once(events_file, edm) -> None:
    """No reference cycle per event: a frame goes as soon as its last reference does."""
    from k4mlinference.io import Reader

    reader = Reader(events_file)
    frame = reader.get("events")[4]
    frame.get("Clusters")[0].getHits()  # reads the hits through the relation
    ref = weakref.ref(frame)
    gc.disable()
    try:
        del frame
        assert ref() is None
        mem = edm.Frame()
        mem.put(edm.edm4hep.MCParticleCollection(), "MCParticles")
        ref = weakref.ref(mem)
        del mem
        assert ref() is None
    finally:
        gc.enable()
    reader.close()


def test_removed_collection_does_not_point_into_its_old_frame(edm) -> None:
    frame = edm.Frame()
    hits = edm.edm4hep.CalorimeterHitCollection()
    hits.create(energy=2.0)
    clusters = edm.edm4hep.ClusterCollection()
    clusters.create().addToHits(hits[0])
    frame.put(hits, "Hits")
    frame.put(clusters, "Clusters")
    taken = frame.remove("Clusters")
    del frame, hits
    churn()
    assert taken[0].getHits() == [None]  # no frame to resolve through: unresolved, not garbage
