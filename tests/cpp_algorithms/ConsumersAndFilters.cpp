// k4FWCore-style FilterPredicate, Consumer, and runtime-length (KeyValues) inputs and outputs.
#include "Gaudi/Property.h"
#include "k4FWCore/Consumer.h"
#include "k4FWCore/FilterPredicate.h"
#include "k4FWCore/Transformer.h"

#include "edm4hep/MCParticleCollection.h"
#include "edm4hep/ReconstructedParticleCollection.h"

#include <stdexcept>
#include <string>
#include <vector>

/// Passes events whose number is a multiple of `Every`.
struct EveryNth final : k4FWCore::FilterPredicate<bool(const edm4hep::MCParticleCollection&)> {
  EveryNth(const std::string& name, ISvcLocator* svcLoc)
      : FilterPredicate(name, svcLoc, KeyValue("InputCollection", "GunParticles")) {}

  bool operator()(const edm4hep::MCParticleCollection& particles) const override {
    const bool pass = eventNumber() % static_cast<unsigned>(m_every.value()) == 0 && !particles.empty();
    debug() << "event " << eventNumber() << (pass ? " passes" : " stops") << endmsg;
    return pass;
  }

  Gaudi::Property<int> m_every{this, "Every", 2, "pass one event in this many"};
};

DECLARE_COMPONENT(EveryNth)

/// Any number of particle collections in, the same number out, each keeping particles above a momentum.
struct SelectMany final : k4FWCore::Transformer<std::vector<edm4hep::MCParticleCollection>(
                              const std::vector<const edm4hep::MCParticleCollection*>&)> {
  SelectMany(const std::string& name, ISvcLocator* svcLoc)
      : Transformer(name, svcLoc, {KeyValues("InputCollections", {"GunParticles"})},
                    {KeyValues("OutputCollections", {"Selected"})}) {}

  std::vector<edm4hep::MCParticleCollection> operator()(
      const std::vector<const edm4hep::MCParticleCollection*>& inputs) const override {
    if (inputs.size() != outputLocations(0).size())
      throw std::runtime_error("configure as many OutputCollections as InputCollections");
    std::vector<edm4hep::MCParticleCollection> out;
    for (const auto* coll : inputs) {
      edm4hep::MCParticleCollection kept;
      for (const auto& p : *coll)
        if (p.getMomentum().z >= m_minPz) kept.push_back(p.clone(false));
      out.push_back(std::move(kept));
    }
    return out;
  }

  Gaudi::Property<double> m_minPz{this, "MinPz", 0.0, "minimum p_z [GeV]"};
};

DECLARE_COMPONENT(SelectMany)

/// Checks what the chain made and reports it; throws when something is off.
struct CheckChain final : k4FWCore::Consumer<void(const std::vector<const edm4hep::MCParticleCollection*>&,
                                                  const edm4hep::ReconstructedParticleCollection&)> {
  CheckChain(const std::string& name, ISvcLocator* svcLoc)
      : Consumer(name, svcLoc, {KeyValues("Particles", {"ShiftedParticles"}), KeyValue("Reco", "RecoParticles")}) {}

  void operator()(const std::vector<const edm4hep::MCParticleCollection*>& particles,
                  const edm4hep::ReconstructedParticleCollection& reco) const override {
    std::size_t n = 0;
    for (const auto* coll : particles) {
      for (const auto& p : *coll) {
        if (p.getParents().size() != 1 || !p.getParents()[0].isAvailable())
          throw std::runtime_error("a shifted particle lost its parent");
        if (p.getPDG() != p.getParents()[0].getPDG() + m_expectedOffset)
          throw std::runtime_error("unexpected PDG " + std::to_string(p.getPDG()));
        ++n;
      }
    }
    m_seen += n;
    info() << "event " << eventNumber() << ": " << n << " shifted particles, " << reco << endmsg;
  }

  StatusCode finalize() override {
    info() << "checked " << m_seen << " particles in total" << endmsg;
    return StatusCode::SUCCESS;
  }

  Gaudi::Property<int> m_expectedOffset{this, "ExpectedOffset", 100, "the offset ShiftPDG adds"};
  mutable std::size_t m_seen{0};
};

DECLARE_COMPONENT(CheckChain)
