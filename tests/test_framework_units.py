"""Framework internals in-process: properties, naming, scheduling, output selection, error messages."""

from __future__ import annotations

import pytest

from k4mlinference.framework import (
    ConfigurationError,
    Consumer,
    Input,
    Inputs,
    Output,
    Producer,
    Property,
    PropertyError,
    Transformer,
)
from k4mlinference.framework.component import CONFIGURED
from k4mlinference.framework.eventloop import parse_output_commands, select_collections
from k4mlinference.framework.scheduler import schedule

MCP = "edm4hep::MCParticleCollection"


class Gen(Producer):
    """Test producer."""

    OutputCollection = Output("A", type=MCP)
    N = Property(3, doc="count")
    Scale = Property(1.5)
    Flag = Property(False)
    Names = Property(["x"], doc="names")
    Values = Property([1.0, 2.0])


class Step(Transformer):
    InputCollection = Input("A", type=MCP)
    OutputCollection = Output("B", type=MCP)


class Many(Consumer):
    InputCollections = Inputs(["A", "B"], type=MCP)


@pytest.fixture(autouse=True)
def _clean_registry():
    CONFIGURED.clear()
    yield
    CONFIGURED.clear()


def test_property_types_are_checked_with_the_component_named():
    g = Gen("G", N=5, Scale=2, Flag=True, Names=["a", "b"], Values=[3, 4.5])
    assert (g.N, g.Scale, g.Flag, g.Names, g.Values) == (5, 2.0, True, ["a", "b"], [3.0, 4.5])
    assert isinstance(g.Scale, float)
    for key, bad in [
        ("N", "3"),
        ("N", 2.5),
        ("N", True),
        ("Scale", "x"),
        ("Flag", 1),
        ("Names", "a"),
        ("Values", ["a"]),
    ]:
        with pytest.raises(PropertyError, match=rf"Gen/G: property '{key}' expects"):
            g.set_property(key, bad)
    with pytest.raises(PropertyError, match="expects int"):
        g.N = "7"


def test_property_parse_from_command_line_strings():
    props = Gen.properties()
    assert props["N"].parse(["0x10"]) == 16
    assert props["Scale"].parse("1e-3") == 1e-3
    assert props["Flag"].parse("false") is False and props["Flag"].parse("True") is True
    assert props["Values"].parse(["1", "2.5"]) == [1.0, 2.5]
    assert props["Names"].parse(["a", "b"]) == ["a", "b"]
    with pytest.raises(PropertyError, match="--G.N: property 'N' expects int, got 'three'"):
        props["N"].parse("three", "--G.N")
    with pytest.raises(PropertyError, match="takes one value"):
        props["N"].parse(["1", "2"])


def test_unknown_property_suggests_close_names():
    with pytest.raises(PropertyError, match="Gen/G has no property 'Scal'.*Did you mean 'Scale'"):
        Gen("G", Scal=2.0)
    g = Gen("G2")
    with pytest.raises(PropertyError, match="no property 'Nn'"):
        g.Nn = 3


def test_same_name_same_instance_and_defaults_are_not_shared():
    a = Gen("G", N=1)
    b = Gen("G", Scale=3.0)
    assert a is b and a.N == 1 and a.Scale == 3.0
    c = Gen("Other")
    c.Names.append("y")
    assert Gen("Third").Names == ["x"]


def test_schedule_orders_by_data_flow_and_keeps_ties_stable():
    s, g = Step("S"), Gen("G")
    m = Many("M")
    assert [a.name for a in schedule([m, s, g], [])] == ["G", "S", "M"]
    assert [a.name for a in schedule([s], ["A"])] == ["S"]


def test_schedule_errors_name_algorithm_and_collection():
    with pytest.raises(
        ConfigurationError, match=r"Step/S: input collection 'Q' is produced by no algorithm.*Available: A, B"
    ):
        schedule([Gen("G"), Step("S", InputCollection="Q")], [])
    with pytest.raises(ConfigurationError, match="collection 'A' is produced by two algorithms: Gen/G1 and Gen/G2"):
        schedule([Gen("G1"), Gen("G2")], [])
    with pytest.raises(ConfigurationError, match="dependency cycle"):
        schedule([Step("S1", InputCollection="B", OutputCollection="C"), Step("S2", InputCollection="C")], [])


def test_output_commands_last_match_wins():
    colls = [("MCParticles", MCP), ("MCParticlesSkimmed", MCP), ("Hits", "edm4hep::CalorimeterHitCollection")]
    sel = lambda cmds: select_collections(colls, parse_output_commands(cmds))  # noqa: E731
    assert sel(["keep *"]) == ["MCParticles", "MCParticlesSkimmed", "Hits"]
    assert sel(["drop *", "keep MCParticles*"]) == ["MCParticles", "MCParticlesSkimmed"]
    assert sel(["keep *", "drop type edm4hep::MCParticleCollection"]) == ["Hits"]
    assert sel(["drop type edm4hep::MCParticleCollection", "keep MCParticles"]) == ["MCParticles", "Hits"]
    with pytest.raises(ConfigurationError, match="cannot parse 'keepall'"):
        parse_output_commands(["keepall"])


def test_signature_rules():
    class Bad(Producer):
        InputCollection = Input("A")
        OutputCollection = Output("B")

    with pytest.raises(ConfigurationError, match="Bad/B: a Producer takes no inputs"):
        Bad("B").check_signature()


def test_events_are_processed_in_blocks_of_the_largest_batch_size(edm):
    from k4mlinference.framework import FilterPredicate, run

    calls = []

    class Src(Producer):
        OutputCollection = Output("A", type=MCP)

        def __call__(self):
            c = edm.edm4hep.MCParticleCollection()
            c.create(PDG=self.event_number)
            return c

    class Odd(FilterPredicate):
        InputCollection = Input("A", type=MCP)

        def __call__(self, a):
            return a[0].getPDG() % 2 == 0

    class Batched(Consumer):
        InputCollections = Inputs(["A"], type=MCP)
        BatchSize = Property(4)

        def process_batch(self, events):
            calls.append((list(self.event_numbers), [int(ev[0][0][0].getPDG()) for ev in events]))
            return [None] * len(events)

    seen = []

    class Before(Consumer):
        InputCollection = Input("A", type=MCP)

        def __call__(self, a):
            seen.append(self.event_number)

    # the filter applies to what is listed after it in TopAlg, whatever the data flow
    res = run([Before("Pre"), Odd("F"), Batched("B"), Src("S")], evt_max=10)
    assert res.events == 10 and seen == list(range(10))
    assert calls == [([0, 2], [0, 2]), ([4, 6], [4, 6]), ([8], [8])]  # blocks of 4 events, odd ones filtered


def test_outputs_lists_and_output_type_check(edm):
    from k4mlinference.framework import AlgorithmError, Outputs, run

    class Split(Producer):
        OutputCollections = Outputs(["X", "Y"], type=MCP)

        def __call__(self):
            return [edm.edm4hep.MCParticleCollection() for _ in self.OutputCollections]

    class Wrong(Producer):
        OutputCollection = Output("Z", type=MCP)

        def __call__(self):
            return edm.edm4hep.CalorimeterHitCollection()

    seen = []

    class Use(Consumer):
        InputCollections = Inputs(["X", "Y", "W"], type=MCP)

        def __call__(self, colls):
            seen.append(len(colls))

    res = run([Use("U"), Split("S"), Split("S2", OutputCollections=["W"])], evt_max=2)
    assert res.events == 2 and seen == [3, 3]
    with pytest.raises(AlgorithmError, match=r"Wrong/W: output collection 'Z' \(OutputCollection\) in event 0 is "):
        run([Wrong("W")], evt_max=1)
