// The Gaudi/k4FWCore pieces beyond the functional kinds, from plain C++ (no ROOT, no Python): an EventContext
// argument, map inputs and outputs keyed by collection name, Gaudi::Accumulators counters printed at finalize,
// podio's column access, edm4hep/Constants.h and the fmt subset.
#include "Gaudi/Accumulators.h"
#include "GaudiAlg/Transformer.h"
#include "GaudiKernel/EventContext.h"
#include "edm4hep/Constants.h"
#include "edm4hep/MCParticleCollection.h"
#include "k4FWCore/Consumer.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "check.h"

using Particles = edm4hep::MCParticleCollection;
using ByName = std::map<std::string, const Particles&>;

/// One output per input (map in, map out), PDG of every particle shifted by the event number.
struct ShiftByEvent final : Gaudi::Functional::Transformer<std::map<std::string, Particles>(const EventContext&, const ByName&)> {
  ShiftByEvent(const std::string& name, ISvcLocator* svcLoc)
      : Transformer(name, svcLoc, KeyValues("InputCollections", {"A"}), KeyValues("OutputCollections", {"B"})) {}
  std::map<std::string, Particles> operator()(const EventContext& ctx, const ByName& in) const override {
    std::map<std::string, Particles> out;
    for (const auto& [name, coll] : in)
      for (int pdg : coll.PDG()) out[name].create().setPDG(pdg + static_cast<int>(ctx.evt()));
    ++m_calls;
    return out;
  }
  mutable Gaudi::Accumulators::Counter<> m_calls{this, "Calls"};
};

/// Counts the particles it sees (StatCounter over the masses).
struct MassStats final : k4FWCore::Consumer<void(const Particles&)> {
  MassStats(const std::string& name, ISvcLocator* svcLoc) : Consumer(name, svcLoc, KeyValue("InputCollection", "A")) {}
  void operator()(const Particles& in) const override {
    for (const auto& p : in) m_mass += p.getMass();
  }
  mutable Gaudi::Accumulators::StatCounter<> m_mass{this, "Mass"};
};

DECLARE_COMPONENT(ShiftByEvent)
DECLARE_COMPONENT(MassStats)

int main() {
  // fmt subset: the replacement fields and specs Key4hep code uses
  CHECK(fmt::format("{} of {}", 3, "ten") == "3 of ten");
  CHECK(fmt::format("{:.3f}|{:>5}|{:<4}|{:^7}|{:08.2f}", 2.5, "r", "l", "mid", -3.14159) == "2.500|    r|l   |  mid  |-0003.14");
  CHECK(fmt::format("{:x} {:#X} {:+d} {:b} {{}}", 255, 255, 5, 5) == "ff 0XFF +5 101 {}");
  CHECK(fmt::format("{1} {0}", "a", "b") == "b a");
  CHECK(fmt::format("{} {} {} {}", 0.1, 1e20, 2.5f, true) == "0.1 1e+20 2.5 true");
  CHECK(fmt::format("{:e}|{:*^9}", 12345.678, "s") == "1.234568e+04|****s****");
  bool threw = false;
  try {
    (void)fmt::format("{} {}", 1);
  } catch (const fmt::format_error&) {
    threw = true;
  }
  CHECK(threw);

  // edm4hep/Constants.h
  CHECK(std::string(edm4hep::CellIDEncoding) == "CellIDEncoding" && std::string(edm4hep::labels::EventHeader) == "EventHeader");
  CHECK(static_cast<int>(edm4hep::TrackParams::tanLambda) == 4);

  // podio's column access
  Particles a, c;
  a.create(11, 1, 0, -1.f, 0.f, 1.0);
  a.create(13, 1, 0, -1.f, 0.f, 3.0);
  c.create(22);
  CHECK((a.PDG() == std::vector<int>{11, 13}) && a.mass(1).size() == 1 && a.mass(5).size() == 2);

  // map in / map out with an EventContext: the EventContext is no data slot
  auto* shift = k4ml::componentRegistry().at("ShiftByEvent")("Shift");
  CHECK(shift->numInputs() == 1 && shift->input(0).multiple && shift->output(0).multiple);
  shift->setInputLocations(0, {"A", "C"});
  shift->setOutputLocations(0, {"X", "Y"});
  shift->setEventNumber(100);
  auto res = shift->callErased({&a, &c}, {2});
  CHECK(res.counts == std::vector<std::size_t>{2});
  auto* x = dynamic_cast<Particles*>(res.outputs.at(0));
  auto* y = dynamic_cast<Particles*>(res.outputs.at(1));
  CHECK(x && y && x->PDG() == (std::vector<int>{111, 113}) && y->PDG() == std::vector<int>{122});
  delete x;
  delete y;
  shift->setOutputLocations(0, {"OnlyOne"});
  threw = false;
  try {
    shift->callErased({&a, &c}, {2});
  } catch (const std::invalid_argument& e) {
    threw = std::string(e.what()).find("the returned map holds 2 collections but the options name 1") != std::string::npos;
  }
  CHECK(threw);
  shift->takeMessages();
  CHECK(shift->finalize().isSuccess());
  shift->printCounters();
  auto msgs = shift->takeMessages();
  CHECK(msgs.size() == 2 && msgs[0].text == "Number of counters : 1" && msgs[1].text == " | \"Calls\" | entries 2");
  delete shift;

  // counters: StatCounter statistics
  auto* stats = k4ml::componentRegistry().at("MassStats")("Stats");
  stats->callErased({&a}, {1});
  stats->printCounters();
  msgs = stats->takeMessages();
  CHECK(msgs.size() == 2 && msgs[1].text == " | \"Mass\" | entries 2 | sum 4 | mean 2 | rms 1 | min 1 | max 3");
  delete stats;

  // EventContext on its own
  EventContext ctx(7, 0);
  CHECK(ctx.evt() == 7 && ctx.slot() == 0 && ctx.valid() && !EventContext().valid());

  if (failures == 0) std::puts("all k4FWCore compatibility checks passed");
  return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
