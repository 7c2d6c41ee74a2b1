"""C++ functional algorithms wrapped generically and mixed with Python algorithms in one chain."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from k4mlinference.framework import AlgorithmError, Input, Output, Property, Transformer, cpp_algorithm, run
from k4mlinference.framework.component import CONFIGURED

HITS = "edm4hep::CalorimeterHitCollection"
SIM = "edm4hep::SimCalorimeterHitCollection"


@pytest.fixture(autouse=True)
def _clean_registry():
    CONFIGURED.clear()
    yield
    CONFIGURED.clear()


class Recorder(Transformer):
    """Python algorithm after the C++ one: records the object it got and scales energies."""

    InputCollection = Input("CalorimeterHits", type=HITS)
    OutputCollection = Output("Scaled", type=HITS)
    Factor = Property(2.0)
    seen: list = []

    def __call__(self, hits):
        import cppyy.ll

        from k4mlinference import edm

        Recorder.seen.append((self.event_number, cppyy.ll.addressof(hits), hits))
        out = edm.edm4hep.CalorimeterHitCollection()
        out.m_data.resize(len(hits))
        if len(hits):
            out.data_view()[:] = hits.data_view()
            out.view("energy")[:] *= self.Factor
        return out


def _chain(**digi):
    from k4mlinference.algorithms.sim import ParticleGun, SimpleCalorimeterSim

    Digi = cpp_algorithm("CaloDigitizer")
    algs = [
        ParticleGun("Gun", PDG=[11], EnergyMin=10.0, EnergyMax=10.0, ParticlesPerEvent=1),
        SimpleCalorimeterSim("Sim", SpotsPerParticle=200),
        Digi("Digi", **digi),
        Recorder("Rec"),
    ]
    return algs


def test_cpp_and_python_share_one_chain_without_copies(edm):
    Recorder.seen.clear()
    algs = _chain(Calibration=10.0, Stochastic=0.0, Constant=0.0, Threshold=0.0)
    digi = algs[2]
    assert digi.kind == "Transformer" and digi.type_name() == "CaloDigitizer"
    assert type(digi).properties()["InputCollection"].collection_type == SIM
    frames = []

    class Keep(Transformer):  # keeps the frames' collections alive to compare them afterwards
        InputCollection = Input("Scaled", type=HITS)
        OutputCollection = Output("Dummy", type=HITS)

        def __call__(self, scaled):
            frames.append(scaled)
            return edm.edm4hep.CalorimeterHitCollection()

    res = run([*algs, Keep("Keep")], evt_max=3)
    assert res.events == 3 and [n for n, _, _ in Recorder.seen] == [0, 1, 2]
    # Python got the very C++ object the digitizer returned: same address, nothing converted
    _, addr, hits = Recorder.seen[0]
    import cppyy.ll

    assert addr == cppyy.ll.addressof(hits) and type(hits).__cpp_name__ == "edm4hep::CalorimeterHitCollection"
    # no smearing: energy = Calibration * sim energy; visible fraction 0.1 of 10 GeV -> about 10 GeV
    total = float(hits.view("energy").sum())
    assert total == pytest.approx(10.0, rel=0.05)
    assert float(frames[0].view("energy").sum()) == pytest.approx(2 * total, rel=1e-6)
    assert np.all(hits.view("time") > 0)  # earliest contribution time, found through relations in C++


def test_cpp_properties_are_typed_and_reach_the_cpp_object(edm):
    Digi = cpp_algorithm("CaloDigitizer")
    d = Digi("D", Calibration=3, Seed=5)
    assert d.cpp_property("Calibration") == ["3"] and d.Calibration == 3.0
    d.Threshold = 0.25
    assert float(d.cpp_property("Threshold")[0]) == 0.25
    from k4mlinference.framework import PropertyError

    with pytest.raises(PropertyError, match="CaloDigitizer/D: property 'Seed' expects int"):
        d.Seed = "5"
    with pytest.raises(PropertyError, match="Did you mean 'Calibration'"):
        Digi("D2", Calibraton=1.0)


def test_cpp_smearing_is_reproducible_per_event_and_cell(edm):
    a = run(_chain(Seed=1), evt_max=2)
    first = [float(h.view("energy").sum()) for _, _, h in Recorder.seen[-2:]]
    CONFIGURED.clear()
    Recorder.seen.clear()
    run(_chain(Seed=1), evt_max=2)
    again = [float(h.view("energy").sum()) for _, _, h in Recorder.seen[-2:]]
    assert a.events == 2 and first == again


def test_user_source_with_every_kind(edm, tmp_path, capsys):
    source = tmp_path / "my_algs.cpp"
    source.write_text(
        textwrap.dedent(
            """
            #include "Gaudi/Property.h"
            #include "k4FWCore/Consumer.h"
            #include "k4FWCore/FilterPredicate.h"
            #include "k4FWCore/Producer.h"
            #include "k4FWCore/Transformer.h"
            #include "edm4hep/CalorimeterHitCollection.h"

            /// Makes hits from a list.
            struct MakeHits final : k4FWCore::Producer<edm4hep::CalorimeterHitCollection()> {
              MakeHits(const std::string& name, ISvcLocator* svc) : Producer(name, svc, KeyValue("OutputCollection", "Hits")) {}
              edm4hep::CalorimeterHitCollection operator()() const override {
                edm4hep::CalorimeterHitCollection out;
                std::uint64_t cell = 0;
                for (double e : energies) out.create(cell++, static_cast<float>(e + eventNumber()));
                return out;
              }
              Gaudi::Property<std::vector<double>> energies{this, "Energies", {1.0, 2.0, 3.0}, "hit energies"};
            };
            DECLARE_COMPONENT(MakeHits)

            /// Splits hits at Cut.
            struct SplitHits final : k4FWCore::MultiTransformer<std::tuple<edm4hep::CalorimeterHitCollection,
                                                                           edm4hep::CalorimeterHitCollection>(
                                         const edm4hep::CalorimeterHitCollection&)> {
              SplitHits(const std::string& name, ISvcLocator* svc)
                  : MultiTransformer(name, svc, {KeyValues("InputCollection", {"Hits"})},
                                     {KeyValues("Low", {"LowHits"}), KeyValues("High", {"HighHits"})}) {}
              std::tuple<edm4hep::CalorimeterHitCollection, edm4hep::CalorimeterHitCollection>
              operator()(const edm4hep::CalorimeterHitCollection& in) const override {
                edm4hep::CalorimeterHitCollection lo, hi;
                for (const auto& h : in) (h.getEnergy() < cut ? lo : hi).push_back(h.clone());
                return {std::move(lo), std::move(hi)};
              }
              Gaudi::Property<double> cut{this, "Cut", 2.5, "split energy"};
              Gaudi::Property<std::string> label{this, "Label", "x", "unused string"};
            };
            DECLARE_COMPONENT(SplitHits)

            /// Passes even events.
            struct EvenEvents final : k4FWCore::FilterPredicate<bool(const edm4hep::CalorimeterHitCollection&)> {
              EvenEvents(const std::string& name, ISvcLocator* svc) : FilterPredicate(name, svc, KeyValue("InputCollection", "Hits")) {}
              bool operator()(const edm4hep::CalorimeterHitCollection&) const override { return eventNumber() % 2 == 0; }
            };
            DECLARE_COMPONENT(EvenEvents)

            /// Counts hits.
            struct CountHits final : k4FWCore::Consumer<void(const edm4hep::CalorimeterHitCollection&,
                                                              const edm4hep::CalorimeterHitCollection&)> {
              CountHits(const std::string& name, ISvcLocator* svc)
                  : Consumer(name, svc, {KeyValue("A", "LowHits"), KeyValue("B", "HighHits")}) {}
              void operator()(const edm4hep::CalorimeterHitCollection& a,
                              const edm4hep::CalorimeterHitCollection& b) const override { total += a.size() + b.size(); }
              StatusCode finalize() override {
                info() << "counted " << total << " hits" << endmsg;
                return StatusCode::SUCCESS;
              }
              mutable std::size_t total = 0;
            };
            DECLARE_COMPONENT(CountHits)
            """
        )
    )
    make, split = cpp_algorithm("MakeHits", source), cpp_algorithm("SplitHits", source)
    even, count = cpp_algorithm("EvenEvents", source), cpp_algorithm("CountHits", source)
    assert [c.kind for c in (make, split, even, count)] == [
        "Producer",
        "MultiTransformer",
        "FilterPredicate",
        "Consumer",
    ]
    assert make.properties()["Energies"].type_name == "list[float]" and make.__doc__ == "Makes hits from a list."
    got = []

    class Look(Transformer):
        InputCollection = Input("HighHits", type=HITS)
        OutputCollection = Output("Copy", type=HITS)

        def __call__(self, high):
            got.append((self.event_number, list(high.view("energy"))))
            return edm.edm4hep.CalorimeterHitCollection()

    c = count("Count")
    res = run([c, Look("Look"), even("Even"), split("Split", Cut=3.5), make("Make", Energies=[1.0, 3.0])], evt_max=4)
    assert res.events == 4
    assert got == [(0, []), (2, [5.0])]  # events 1 and 3 filtered; event 2 has energies 3 and 5, cut 3.5
    assert "counted 4 hits" in capsys.readouterr().out


def test_wrong_input_type_names_algorithm_collection_and_event(edm):
    from k4mlinference.algorithms.sim import ParticleGun

    Digi = cpp_algorithm("CaloDigitizer")
    with pytest.raises(AlgorithmError) as err:
        run([ParticleGun("Gun"), Digi("Digi", InputCollection="MCParticles")], evt_max=2)
    msg = str(err.value)
    assert "CaloDigitizer/Digi" in msg and "'MCParticles'" in msg and "event 0" in msg
    assert "edm4hep::MCParticleCollection" in msg and "declares edm4hep::SimCalorimeterHitCollection" in msg


def test_cpp_block_call_equals_event_calls_and_names_the_failing_event(edm, tmp_path):
    """The loop runs a C++ algorithm on a whole block per C call: same results as one call per event,
    and an exception in the middle of a block names that event."""
    source = tmp_path / "doubler.cpp"
    source.write_text(
        textwrap.dedent(
            """
            #include <stdexcept>
            #include "k4FWCore/Transformer.h"
            #include "edm4hep/CalorimeterHitCollection.h"

            /// Doubles hit energies; throws in event 5.
            struct DoubleOrThrow final
                : k4FWCore::Transformer<edm4hep::CalorimeterHitCollection(const edm4hep::CalorimeterHitCollection&)> {
              DoubleOrThrow(const std::string& name, ISvcLocator* svc)
                  : Transformer(name, svc, KeyValues("InputCollection", {"Hits"}), KeyValues("OutputCollection", {"Doubled"})) {}
              edm4hep::CalorimeterHitCollection operator()(const edm4hep::CalorimeterHitCollection& in) const override {
                if (eventNumber() == 5) throw std::runtime_error("bad event");
                edm4hep::CalorimeterHitCollection out;
                for (const auto& h : in) out.create(h.getCellID(), 2 * h.getEnergy() + eventNumber());
                return out;
              }
            };
            DECLARE_COMPONENT(DoubleOrThrow)
            """
        )
    )
    from k4mlinference.framework import Producer

    class Hits(Producer):
        OutputCollection = Output("Hits", type=HITS)

        def __call__(self):
            out = edm.edm4hep.CalorimeterHitCollection()
            out.m_data.resize(3)
            out.view("energy")[:] = [1.0 + self.event_number, 2.0, 3.0]
            return out

    doubler = cpp_algorithm("DoubleOrThrow", source)
    alg = doubler("Block")
    alg.initialize()
    made = Hits("Made")
    inputs = []
    for n in range(4):
        made.event_number = n
        inputs.append(made())
    alg.event_numbers = [0, 1, 2, 3]
    block = [list(c.view("energy")) for c in alg.process_batch([(c,) for c in inputs])]
    singles = []
    for n, c in enumerate(inputs):
        alg.event_number = n
        singles.append(list(alg(c).view("energy")))
    assert block == singles == [[2.0 + 2 * n + n, 4.0 + n, 6.0 + n] for n in range(4)]

    CONFIGURED.clear()
    with pytest.raises(AlgorithmError) as err:
        run([Hits("Hits"), doubler("Doubler")], evt_max=8)
    assert "DoubleOrThrow/Doubler failed in event 5" in str(err.value) and "bad event" in str(err.value)

    # the frames delete what C++ made, unless someone still holds it: then it outlives them, intact
    from k4mlinference.framework import Consumer

    kept = []

    class Keep(Consumer):
        InputCollection = Input("Doubled", type=HITS)

        def __call__(self, doubled):
            if self.event_number % 2:
                kept.append((self.event_number, doubled))

    CONFIGURED.clear()
    run([Hits("Hits"), doubler("Doubler"), Keep("Keep")], evt_max=5)
    import gc

    gc.collect()
    assert [(n, list(c.view("energy"))) for n, c in kept] == [(n, [2.0 + 3 * n, 4.0 + n, 6.0 + n]) for n in (1, 3)]
    assert [c[0].getEnergy() for _, c in kept] == [5.0, 11.0]
