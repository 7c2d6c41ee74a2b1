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
    assert list(d._cpp.getProperty("Calibration")) == ["3"] and d.Calibration == 3.0
    d.Threshold = 0.25
    assert float(d._cpp.getProperty("Threshold")[0]) == 0.25
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


def test_user_header_with_every_kind(edm, tmp_path):
    header = tmp_path / "my_algs.h"
    header.write_text(
        textwrap.dedent(
            """
            #pragma once
            #include "edm4hep/edm4hep.h"
            #include "k4ml/functional.h"

            struct MakeHits final : k4ml::Producer<edm4hep::CalorimeterHitCollection()> {
              MakeHits() : Producer(KeyValue("OutputCollection", "Hits")) {}
              edm4hep::CalorimeterHitCollection operator()() const override {
                edm4hep::CalorimeterHitCollection out;
                for (std::size_t i = 0; i < energies.value().size(); ++i) {
                  edm4hep::CalorimeterHitData d{};
                  d.energy = static_cast<float>(energies.value()[i] + eventNumber());
                  d.cellID = i;
                  out.m_data.push_back(d);
                }
                return out;
              }
              k4ml::Property<std::vector<double>> energies{this, "Energies", {1.0, 2.0, 3.0}, "hit energies"};
            };
            K4ML_ALGORITHM(MakeHits, "Makes hits from a list.")

            struct SplitHits final : k4ml::MultiTransformer<std::tuple<edm4hep::CalorimeterHitCollection,
                                                                       edm4hep::CalorimeterHitCollection>(
                                         const edm4hep::CalorimeterHitCollection&)> {
              SplitHits() : MultiTransformer({KeyValue("InputCollection", "Hits")},
                                             {KeyValue("Low", "LowHits"), KeyValue("High", "HighHits")}) {}
              std::tuple<edm4hep::CalorimeterHitCollection, edm4hep::CalorimeterHitCollection>
              operator()(const edm4hep::CalorimeterHitCollection& in) const override {
                edm4hep::CalorimeterHitCollection lo, hi;
                for (const auto& d : in.m_data) (d.energy < cut ? lo : hi).m_data.push_back(d);
                return {std::move(lo), std::move(hi)};
              }
              k4ml::Property<double> cut{this, "Cut", 2.5, "split energy"};
              k4ml::Property<std::string> label{this, "Label", "x", "unused string"};
            };
            K4ML_ALGORITHM(SplitHits, "Splits hits at Cut.")

            struct EvenEvents final : k4ml::FilterPredicate<bool(const edm4hep::CalorimeterHitCollection&)> {
              EvenEvents() : FilterPredicate({KeyValue("InputCollection", "Hits")}) {}
              bool operator()(const edm4hep::CalorimeterHitCollection&) const override { return eventNumber() % 2 == 0; }
            };
            K4ML_ALGORITHM(EvenEvents, "Passes even events.")

            struct CountHits final : k4ml::Consumer<void(const edm4hep::CalorimeterHitCollection&,
                                                          const edm4hep::CalorimeterHitCollection&)> {
              CountHits() : Consumer({KeyValue("A", "LowHits"), KeyValue("B", "HighHits")}) {}
              void operator()(const edm4hep::CalorimeterHitCollection& a,
                              const edm4hep::CalorimeterHitCollection& b) const override { total += a.size() + b.size(); }
              mutable std::size_t total = 0;
            };
            K4ML_ALGORITHM(CountHits, "Counts hits.")
            """
        )
    )
    make, split = cpp_algorithm("MakeHits", header), cpp_algorithm("SplitHits", header)
    even, count = cpp_algorithm("EvenEvents", header), cpp_algorithm("CountHits", header)
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
    assert int(c.cpp_instance().total) == 4


def test_wrong_input_type_names_algorithm_collection_and_event(edm):
    from k4mlinference.algorithms.sim import ParticleGun

    Digi = cpp_algorithm("CaloDigitizer")
    with pytest.raises(AlgorithmError) as err:
        run([ParticleGun("Gun"), Digi("Digi", InputCollection="MCParticles")], evt_max=2)
    msg = str(err.value)
    assert "CaloDigitizer/Digi" in msg and "'MCParticles'" in msg and "event 0" in msg
    assert "edm4hep::MCParticleCollection" in msg and "declares edm4hep::SimCalorimeterHitCollection" in msg
