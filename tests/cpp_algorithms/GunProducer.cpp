// A k4FWCore-style Producer: a few MCParticles per event, configured by properties of several types.
#include "Gaudi/Property.h"
#include "k4FWCore/Producer.h"

#include "edm4hep/MCParticleCollection.h"
#include "edm4hep/MutableMCParticle.h"

#include <string>
#include <vector>

struct GunProducer final : k4FWCore::Producer<edm4hep::MCParticleCollection()> {
  GunProducer(const std::string& name, ISvcLocator* svcLoc)
      : Producer(name, svcLoc, {}, KeyValues("OutputCollection", {"GunParticles"})) {}

  StatusCode initialize() override {
    info() << "shooting " << m_energies.size() << " particles of PDG " << m_pdg.value() << " (" << m_label.value()
           << ")" << endmsg;
    return StatusCode::SUCCESS;
  }

  edm4hep::MCParticleCollection operator()() const override {
    edm4hep::MCParticleCollection particles;
    int i = 0;
    for (const double energy : m_energies) {
      // one particle through create(), then setters
      auto p = particles.create();
      p.setPDG(m_pdg);
      p.setGeneratorStatus(1);
      p.setMass(m_mass);
      p.setMomentum(edm4hep::Vector3d{0., 0., energy} * m_scale.value());
      p.setCharge(m_charged ? -1.f : 0.f);
      p.setTime(static_cast<float>(i++));
    }
    if (m_addPhoton) {
      // and one standalone object, pushed into the collection afterwards
      edm4hep::MutableMCParticle photon;
      photon.setPDG(22);
      photon.setMomentum({1., 0., 0.});
      particles.push_back(photon);
      photon.setGeneratorStatus(2);  // the handle now is the collection's element
    }
    debug() << "made " << particles.size() << " particles" << endmsg;
    return particles;
  }

private:
  Gaudi::Property<int> m_pdg{this, "PDG", 11, "particle type"};
  Gaudi::Property<std::vector<double>> m_energies{this, "Energies", {10.0, 20.0}, "one particle per energy [GeV]"};
  Gaudi::Property<double> m_scale{this, "Scale", 1.0, "momentum scale"};
  Gaudi::Property<float> m_mass{this, "Mass", 0.000511f, "mass [GeV]"};
  Gaudi::Property<bool> m_charged{this, "Charged", true, "negative charge"};
  Gaudi::Property<bool> m_addPhoton{this, "AddPhoton", false, "add one photon along x"};
  Gaudi::Property<std::string> m_label{this, "Label", "gun", "a name printed at initialize"};
};

DECLARE_COMPONENT(GunProducer)
