// A k4FWCore-style C++ Producer for the start-up benchmark: one empty MCParticle collection per event.
#include "k4FWCore/Producer.h"

#include "edm4hep/MCParticleCollection.h"

#include <string>

struct EmptyCollectionProducer final : k4FWCore::Producer<edm4hep::MCParticleCollection()> {
  EmptyCollectionProducer(const std::string& name, ISvcLocator* svcLoc)
      : Producer(name, svcLoc, {}, KeyValues("OutputCollection", {"Particles"})) {}

  edm4hep::MCParticleCollection operator()() const override { return {}; }
};

DECLARE_COMPONENT(EmptyCollectionProducer)
