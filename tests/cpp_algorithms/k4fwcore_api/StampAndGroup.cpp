// Test algorithms in k4FWCore's newer spellings: an EventContext first argument, runtime-length inputs and
// outputs as maps keyed by collection name, and counters.
#include "Gaudi/Accumulators.h"
#include "Gaudi/Property.h"
#include "GaudiKernel/EventContext.h"
#include "k4FWCore/Consumer.h"
#include "k4FWCore/Transformer.h"

#include "edm4hep/MCParticleCollection.h"

#include <stdexcept>
#include <string>

/// Copies the particles and writes the event number (from the EventContext) into their generator status.
struct StampEvent final
    : k4FWCore::Transformer<edm4hep::MCParticleCollection(const EventContext&, const edm4hep::MCParticleCollection&)> {
  StampEvent(const std::string& name, ISvcLocator* svcLoc)
      : Transformer(name, svcLoc, {KeyValues("InputCollection", {"Seeds"})}, {KeyValues("OutputCollection", {"Stamped"})}) {}

  edm4hep::MCParticleCollection operator()(const EventContext& ctx, const edm4hep::MCParticleCollection& in) const override {
    if (ctx.slot() != 0 || ctx.evt() != eventNumber()) throw std::runtime_error("unexpected event context");
    edm4hep::MCParticleCollection out;
    for (const auto& p : in) {
      auto q = p.clone();
      q.setGeneratorStatus(static_cast<int>(ctx.evt()));
      out.push_back(q);
    }
    return out;
  }
};

/// One output per input, keyed by name: each output keeps the particles of its input with PDG negated.
/// The returned map's order (its keys, sorted) decides which configured output name each collection gets.
struct NegateEach final
    : k4FWCore::Transformer<std::map<std::string, edm4hep::MCParticleCollection>(
          const std::map<std::string, const edm4hep::MCParticleCollection&>&)> {
  NegateEach(const std::string& name, ISvcLocator* svcLoc)
      : Transformer(name, svcLoc, {KeyValues("InputCollections", {"Stamped"})},
                    {KeyValues("OutputCollections", {"Negated"})}) {}

  std::map<std::string, edm4hep::MCParticleCollection> operator()(
      const std::map<std::string, const edm4hep::MCParticleCollection&>& in) const override {
    std::map<std::string, edm4hep::MCParticleCollection> out;
    for (const auto& [name, particles] : in) {
      auto& coll = out[name];
      for (const auto& p : particles) {
        auto q = coll.create();
        q.setPDG(-p.getPDG());
        q.setMass(p.getMass());
        q.setGeneratorStatus(p.getGeneratorStatus());
      }
    }
    return out;
  }
};

/// Checks the per-name map input (the older `C&` spelling) and the event context; counts what it saw
/// (the masses through podio's column access, `coll.mass()`).
struct CountByName final
    : k4FWCore::Consumer<void(const EventContext&, const std::map<std::string, edm4hep::MCParticleCollection&>&)> {
  CountByName(const std::string& name, ISvcLocator* svcLoc)
      : Consumer(name, svcLoc, KeyValues("InputCollections", {"Negated"})) {}

  void operator()(const EventContext& ctx, const std::map<std::string, edm4hep::MCParticleCollection&>& in) const override {
    for (const auto& [name, particles] : in) {
      for (const auto& p : particles) {
        if (p.getGeneratorStatus() != static_cast<int>(ctx.evt())) throw std::runtime_error(name + ": wrong event stamp");
      }
      // podio's column access: every element's mass, or only the first n
      for (float m : particles.mass()) m_masses += m;
      if (particles.mass(1).size() != 1) throw std::runtime_error(name + ": mass(1) is not the first mass only");
      info() << "event " << ctx.evt() << ": " << name << " has " << particles.size() << " particles" << endmsg;
    }
    ++m_events;
  }

  mutable Gaudi::Accumulators::Counter<> m_events{this, "Events"};
  mutable Gaudi::Accumulators::StatCounter<float> m_masses{this, "Mass"};
};

DECLARE_COMPONENT(StampEvent)
DECLARE_COMPONENT(NegateEach)
DECLARE_COMPONENT(CountByName)
