// Test algorithms in the older Gaudi spelling (GaudiAlg/ headers, Gaudi::Functional:: with BaseClass_t),
// with Gaudi::Accumulators counters and fmt::format messages, as k4FWCore's examples write them.
#include "Gaudi/Accumulators.h"
#include "Gaudi/Property.h"
#include "GaudiAlg/FilterPredicate.h"
#include "GaudiAlg/Producer.h"
#include "k4FWCore/BaseClass.h"

#include "edm4hep/Constants.h"
#include "edm4hep/MCParticleCollection.h"

#include <fmt/format.h>

#include <string>

/// Makes `Count` particles of PDG `PDG` per event, with the mass growing by one per particle.
struct SeedParticles final : Gaudi::Functional::Producer<edm4hep::MCParticleCollection(), BaseClass_t> {
  SeedParticles(const std::string& name, ISvcLocator* svcLoc)
      : Producer(name, svcLoc, KeyValue("OutputCollection", "Seeds")) {}

  edm4hep::MCParticleCollection operator()() const override {
    edm4hep::MCParticleCollection out;
    for (int i = 0; i < m_count; ++i) {
      auto p = out.create();
      p.setPDG(m_pdg);
      p.setMass(1.f + i);
    }
    m_made += out.size();
    return out;
  }

  StatusCode initialize() override {
    // edm4hep/Constants.h: the parameter names are plain C strings
    info() << "cell IDs would be described by the '" << edm4hep::CellIDEncoding << "' parameter" << endmsg;
    info() << fmt::format("{} particles of PDG {:+d} per event, masses from {:.1f} GeV", m_count.value(), m_pdg.value(), 1.0)
           << endmsg;
    return StatusCode::SUCCESS;
  }

  Gaudi::Property<int> m_pdg{this, "PDG", 211, "PDG code of the particles"};
  Gaudi::Property<int> m_count{this, "Count", 2, "particles per event"};
  mutable Gaudi::Accumulators::Counter<> m_made{this, "Particles made"};
};

/// Keeps every `Every`-th event (counted from the first one this instance sees).
struct KeepEveryNth final : Gaudi::Functional::FilterPredicate<bool(const edm4hep::MCParticleCollection&), BaseClass_t> {
  KeepEveryNth(const std::string& name, ISvcLocator* svcLoc)
      : FilterPredicate(name, svcLoc, KeyValue("InputCollection", "Seeds")) {}

  bool operator()(const edm4hep::MCParticleCollection& particles) const override {
    const bool keep = m_seen.nEntries() % static_cast<unsigned long>(m_every.value()) == 0;
    ++m_seen;
    m_passed += keep;
    m_sizes += particles.size();
    return keep;
  }

  Gaudi::Property<int> m_every{this, "Every", 2, "keep one event in this many"};
  mutable Gaudi::Accumulators::Counter<> m_seen{this, "Seen"};
  mutable Gaudi::Accumulators::BinomialCounter<> m_passed{this, "Kept"};
  mutable Gaudi::Accumulators::AveragingCounter<> m_sizes{this, "Particles per event"};
};

DECLARE_COMPONENT(SeedParticles)
DECLARE_COMPONENT(KeepEveryNth)
