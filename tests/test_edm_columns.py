"""Use-case helpers of the shared layer: build collections from columns, one-to-many both ways, positions,
padded tensors from relations, views that end with a block."""

import numpy as np
import pytest

from k4mlinference import edm
from k4mlinference.edm import ViewInvalidatedError


def test_build_one_to_many_and_members():
    counts = np.array([2, 0, 3])
    clusters, hits = edm.build_one_to_many(
        "edm4hep::ClusterCollection",
        "edm4hep::CalorimeterHitCollection",
        counts,
        {"energy": np.array([3.0, 0.0, 12.0]), "position": np.arange(9.0).reshape(3, 3)},
        {"energy": np.array([1.0, 2.0, 5.0, 4.0, 3.0]), "cellID": np.arange(5, dtype=np.uint64)},
        relation="hits",
    )
    frame = edm.Frame()
    frame.put(hits, "CalorimeterHits")
    frame.put(clusters, "CaloClusters")
    assert [len(c.getHits()) for c in clusters] == [2, 0, 3]
    assert [h.getEnergy() for h in clusters[2].getHits()] == [5.0, 4.0, 3.0]
    assert clusters[1].getPosition().y == 4.0
    owner, index = edm.members(clusters, "hits", hits)
    assert owner.tolist() == [0, 0, 2, 2, 2] and index.tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(edm.positions(clusters), np.arange(9.0).reshape(3, 3))
    # helpers release their views: the collection can still grow
    clusters.create(energy=1.0)


def test_vector_members_from_2d_arrays():
    clusters = edm.build_collection("edm4hep::ClusterCollection", 2, shapeParameters=np.arange(14.0).reshape(2, 7))
    assert [list(c.getShapeParameters()) for c in clusters] == [list(range(7)), list(range(7, 14))]
    with edm.reading(clusters) as c:
        owner, values = c.vector("shapeParameters")
    assert owner.tolist() == [0] * 7 + [1] * 7 and values.tolist() == list(range(14))


def test_build_collection_errors_name_the_member():
    with pytest.raises(KeyError, match="no member 'enrgy'"):
        edm.build_collection("edm4hep::CalorimeterHitCollection", 2, enrgy=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"expected \[n, 3\]"):
        edm.build_collection("edm4hep::CalorimeterHitCollection", 2, position=np.zeros((2, 2)))


def test_padded_sorts_truncates_and_masks():
    counts = np.array([3, 1, 0])
    e = np.array([1.0, 5.0, 3.0, 2.0])
    clusters, hits = edm.build_one_to_many(
        "edm4hep::ClusterCollection",
        "edm4hep::CalorimeterHitCollection",
        counts,
        {},
        {"energy": e, "position": np.column_stack([e * 10, e, -e])},
        relation="hits",
    )
    x, mask = edm.padded(clusters, "hits", hits, ["energy", "position.x"], max_len=2, sort_by="energy")
    assert x.dtype == np.float32 and x.shape == (3, 2, 2) and mask.dtype == bool
    np.testing.assert_array_equal(x[0], [[5.0, 50.0], [3.0, 30.0]])  # highest energy first, third hit cut
    np.testing.assert_array_equal(x[1], [[2.0, 20.0], [0.0, 0.0]])
    assert mask.tolist() == [[True, True], [True, False], [False, False]]
    # dict of features: member names or per-target arrays; ascending order; relation order when unsorted
    x2, _ = edm.padded(clusters, "hits", hits, {"e": "energy", "twice": 2 * e}, 4, sort_by="e", descending=False)
    np.testing.assert_array_equal(x2[0, :3], [[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]])
    x3, _ = edm.padded(clusters, "hits", hits, ["energy"], 4)
    np.testing.assert_array_equal(x3[0, :3, 0], [1.0, 5.0, 3.0])


def test_padded_rejects_a_foreign_target():
    clusters, hits = edm.build_one_to_many(
        "edm4hep::ClusterCollection", "edm4hep::CalorimeterHitCollection", [1], {}, {"energy": [1.0]}, "hits"
    )
    other = edm.build_collection("edm4hep::CalorimeterHitCollection", energy=np.array([1.0]))
    with pytest.raises(ValueError, match="hits: references point into"):
        edm.padded(clusters, "hits", other, ["energy"], 2)


def test_reading_views_end_with_the_block():
    hits = edm.build_collection("edm4hep::CalorimeterHitCollection", energy=np.array([1.0, 2.0]))
    with edm.reading(hits) as h:
        energy = h["energy"]
        assert np.shares_memory(energy, hits.view("energy"))  # zero copy
        total = float(energy.sum())
        del energy
        with pytest.raises(ViewInvalidatedError):
            hits.create(energy=3.0)
    hits.create(energy=3.0)  # the block released its views
    assert total == 3.0 and len(hits) == 3


def test_directions_and_one_to_one():
    mcps = edm.build_collection(
        "edm4hep::MCParticleCollection", momentum=np.array([[3.0, 0, 4.0], [0, 0, 0]]), PDG=np.array([11, 22])
    )
    np.testing.assert_allclose(edm.directions(mcps), [[0.6, 0, 0.8], [0, 0, 0]])
    contribs = edm.build_collection("edm4hep::CaloHitContributionCollection", energy=np.array([1.0, 2.0, 3.0]))
    edm.set_one_to_one(contribs, "particle", np.array([1, -1, 0]), mcps)
    frame = edm.Frame()
    frame.put(mcps, "MCParticles")
    frame.put(contribs, "Contributions")
    assert contribs[0].getParticle().getPDG() == 22 and contribs[2].getParticle().getPDG() == 11
    assert contribs[1].getParticle() is None
