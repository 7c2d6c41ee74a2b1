"""The datamodel as a user sees it: every type and member, relations, zero-copy views, errors."""

from __future__ import annotations

import numpy as np
import pytest

from k4mlinference.datamodel import load_builtin_datamodels
from k4mlinference.datamodel.model import parse_datamodel

EDM4HEP, EDM4EIC = load_builtin_datamodels()
ALL_TYPES = [dt for dm in (EDM4HEP, EDM4EIC) for dt in dm.datatypes.values()]
COMPONENTS = {**EDM4HEP.components, **EDM4EIC.components}


def _value_for(dtype: np.dtype, seed: int):
    """A distinctive value of the member's numpy dtype (nested for components and arrays)."""
    if dtype.names:
        return tuple(_value_for(dtype.fields[n][0], seed + i + 1) for i, n in enumerate(dtype.names))
    if dtype.subdtype is not None:
        base, shape = dtype.subdtype
        return [_value_for(base, seed + i) for i in range(int(np.prod(shape)))]
    if dtype.kind == "f":
        return float(seed) + 0.5
    if dtype.kind == "b":
        return True
    return seed % 100 + 1


def _as_python(obj, dtype: np.dtype):
    """Read a cppyy member value back into the nested tuple/list form of _value_for."""
    if dtype.names:
        return tuple(_as_python(getattr(obj, n), dtype.fields[n][0]) for n in dtype.names)
    if dtype.subdtype is not None:
        return [obj[i] for i in range(len(obj))]
    return obj


@pytest.mark.parametrize("dt", ALL_TYPES, ids=lambda d: d.name)
def test_every_type_and_member_round_trips(edm, dt):
    coll = edm.collection_class(dt.cpp_collection)()
    dtype = coll.type_info.data_dtype
    values = {m.name: _value_for(dtype.fields[m.name][0], 7 * i + 3) for i, m in enumerate(dt.members)}
    obj = coll.create(**values)
    for m in dt.members:
        got = _as_python(getattr(obj, "get" + m.name[0].upper() + m.name[1:])(), dtype.fields[m.name][0])
        assert np.allclose(np.array(got, dtype=float), np.array(values[m.name], dtype=float)), m.name
    for vm in dt.vector_members:
        adder = getattr(obj, "addTo" + vm.name[0].upper() + vm.name[1:])
        getter = getattr(obj, "get" + vm.name[0].upper() + vm.name[1:])
        if vm.type in COMPONENTS:  # e.g. Track.trackStates
            import cppyy

            item = getattr(cppyy.gbl.edm4hep, vm.type.split("::")[-1])()
            item.location = 3
            adder(item)
            assert getter()[0].location == 3 and coll.vector_view(vm.name)["location"][0] == 3
            continue
        adder(2)
        adder(5)
        assert list(getter()) == [2, 5], vm.name
    assert len(coll) == 1 and coll.getTypeName() == dt.collection_type


def test_struct_layout_equals_cpp(edm):
    """numpy dtypes (used by every view) agree with the compiled structs member by member."""
    import cppyy

    for dm in (EDM4HEP, EDM4EIC):
        for dt in dm.datatypes.values():
            if dt.link:
                continue
            npdt = dm.numpy_dtype(dt.data_type, COMPONENTS)
            assert cppyy.sizeof(dt.data_type) == npdt.itemsize, dt.name
            for name in npdt.names:
                off = int(cppyy.gbl.gInterpreter.ProcessLine(f"offsetof({dt.data_type}, {name});"))
                assert off == npdt.fields[name][1], f"{dt.name}.{name}"


def test_class_versions_match_podio(edm):
    import cppyy

    cls = cppyy.gbl.TClass.GetClass("edm4hep::CalorimeterHitData")
    assert cls.HasDictionary() and cls.GetClassVersion() == 6
    assert cppyy.gbl.TClass.GetClass("edm4eic::TensorData").GetClassVersion() == 890


def test_relations_round_trip(edm):
    mcps = edm.edm4hep.MCParticleCollection()
    mother = mcps.create(PDG=23)
    d1 = mcps.create(PDG=11, parents=[mother])
    d2 = mcps.create(PDG=-11)
    d2.addToParents(mother)
    mother.addToDaughters(d1)
    mother.addToDaughters(d2)
    # insert into a middle element: later ranges shift
    d1.addToDaughters(d2)
    assert [p.getPDG() for p in mother.getDaughters()] == [11, -11]
    assert [p.getPDG() for p in d2.getParents()] == [23]
    assert [p.getPDG() for p in d1.getDaughters()] == [-11]
    begin, end = mcps.ranges("daughters")
    assert list(begin) == [0, 2, 3] and list(end) == [2, 3, 3]

    hits = edm.edm4hep.CalorimeterHitCollection()
    h = hits.create(energy=1.5)
    clusters = edm.edm4hep.ClusterCollection()
    c = clusters.create(energy=1.5, hits=[h], shapeParameters=[0.1, 0.2])
    contribs = edm.edm4hep.CaloHitContributionCollection()
    contrib = contribs.create(energy=0.3, particle=mother)
    frame = edm.Frame()
    frame.put(mcps, "MCParticles")
    frame.put(hits, "Hits")
    frame.put(clusters, "Clusters")
    frame.put(contribs, "Contributions")
    # references made before the names existed now carry podio's IDs
    assert clusters.relation_view("hits")["collectionID"][0] == hits.getID()
    assert c.getHits()[0].getEnergy() == pytest.approx(1.5)
    assert contrib.getParticle().getPDG() == 23
    assert list(c.getShapeParameters()) == pytest.approx([0.1, 0.2])
    # C++ navigation through the frame's resolver gives the same object
    assert contribs[0].getParticle() == mcps[0]


def test_collection_ids_are_podio_hashes(edm):
    frame = edm.Frame()
    coll = frame.put(edm.edm4hep.MCParticleCollection(), "MCParticles")
    assert coll.getID() == 0xA1CBA250  # as in real podio files
    with pytest.raises(KeyError, match="already holds"):
        frame.put(edm.edm4hep.MCParticleCollection(), "MCParticles")
    with pytest.raises(KeyError, match="available: MCParticles"):
        frame.get("Nope")


def test_views_share_memory_both_ways(edm):
    mcps = edm.edm4hep.MCParticleCollection()
    for i in range(5):
        mcps.create(PDG=i, momentum=(i, 2.0 * i, 3.0 * i))
    ev = edm.edm4hep.EventHeaderCollection()
    h = ev.create(eventNumber=1, weights=[0.5, 1.5])

    pdg = mcps.view("PDG")  # scalar member
    px = mcps.view("momentum.x")  # component field (strided)
    w = ev.vector_view("weights")  # vector member
    data = mcps.data_view()
    assert np.shares_memory(pdg, data) and np.shares_memory(px, data)
    assert px.strides == (data.dtype.itemsize,)

    pdg[2] = 211
    px[3] = -7.0
    w[1] = 9.0
    assert mcps[2].getPDG() == 211
    assert mcps[3].getMomentum().x == -7.0
    assert list(h.getWeights()) == [0.5, 9.0]

    mcps.mutableAt(4).setPDG(-13)
    mcps.mutableAt(1).momentum().y = 42.0
    assert pdg[4] == -13 and mcps.view("momentum.y")[1] == 42.0

    t = mcps.torch_view("momentum.z")
    t[0] = 100.0
    assert mcps[0].getMomentum().z == 100.0
    assert t.data_ptr() == mcps.view("momentum.z").ctypes.data


def test_views_cannot_dangle(edm):
    mcps = edm.edm4hep.MCParticleCollection()
    mcps.create(PDG=1)
    view = mcps.view("PDG")
    with pytest.raises(edm.ViewInvalidatedError, match="view"):
        mcps.create(PDG=2)
    with pytest.raises(edm.ViewInvalidatedError):
        mcps[0].getCollection()  # reading is fine
        mcps.mutableAt(0).addToDaughters(mcps[0])
    del view
    mcps.create(PDG=2)  # allowed once the view is gone
    assert list(mcps.view("PDG")) == [1, 2]


def test_view_keeps_collection_alive(edm):
    mcps = edm.edm4hep.MCParticleCollection()
    mcps.create(PDG=5)
    v = mcps.view("PDG")
    del mcps
    import gc

    gc.collect()
    assert v[0] == 5


def test_bad_member_names_list_valid_ones(edm):
    mcps = edm.edm4hep.MCParticleCollection()
    with pytest.raises(KeyError, match="valid names: PDG, generatorStatus"):
        mcps.create(PGD=11)
    with pytest.raises(KeyError, match="no member 'momentm'.*momentum"):
        mcps.view("momentm.x")
    with pytest.raises(KeyError, match="momentum has no member 'w'; valid members: x, y, z"):
        mcps.view("momentum.w")
    with pytest.raises(KeyError, match="vector members: weights"):
        edm.edm4hep.EventHeaderCollection().vector_view("weight")
    with pytest.raises(KeyError, match="relations: parents, daughters"):
        mcps.relation_view("mothers")
    with pytest.raises(IndexError, match="out of range"):
        mcps[3]


def test_empty_collection_views(edm):
    mcps = edm.edm4hep.MCParticleCollection()
    assert mcps.view("momentum.x").shape == (0,)
    assert mcps.data_view().dtype.itemsize == 152


def test_datamodel_from_json_definition_parses():
    text = (
        '{"schema_version": 3, "datatypes": {"user::Hit": {"Members": ["float e // energy", "std::array<int, 2> ij"]}}}'
    )
    dm = parse_datamodel(text)
    assert dm.name == "user" and dm.datatypes["user::Hit"].members[1].array == ("int", 2)
