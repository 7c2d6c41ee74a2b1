// podio's handle API and k4FWCore's functional kinds from plain C++ (no ROOT, no Python): what a
// Key4hep algorithm uses compiles here and behaves as it does there.
#include "edm4hep/CalorimeterHitCollection.h"
#include "edm4hep/MCParticle.h"
#include "edm4hep/MCParticleCollection.h"
#include "edm4hep/MutableMCParticle.h"
#include "edm4hep/RecoMCParticleLinkCollection.h"
#include "edm4hep/ReconstructedParticleCollection.h"
#include "edm4hep/Vector3d.h"
#include "k4FWCore/Transformer.h"
#include "podio/LinkCollection.h"
#include "podio/ObjectID.h"
#include "podio/UserDataCollection.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "check.h"

struct Doubler final : k4FWCore::Transformer<podio::UserDataCollection<float>(const edm4hep::MCParticleCollection&)> {
  Doubler(const std::string& name, ISvcLocator* svcLoc)
      : Transformer(name, svcLoc, KeyValue("InputCollection", "MCParticles"), KeyValues("OutputCollection", {"Doubled"})) {}
  podio::UserDataCollection<float> operator()(const edm4hep::MCParticleCollection& in) const override {
    podio::UserDataCollection<float> out;
    for (const auto& p : in) out.push_back(2.f * p.getCharge() * m_factor);
    info() << "doubled " << in.size() << endmsg;
    debug() << "not shown at INFO" << endmsg;
    return out;
  }
  Gaudi::Property<float> m_factor{this, "Factor", 1.f, "extra factor"};
};
DECLARE_COMPONENT(Doubler)

int main() {
  // vector components with operators
  const edm4hep::Vector3d a{1., 2., 3.}, b{1., 1., 1.};
  CHECK((a + b) == (edm4hep::Vector3d{2., 3., 4.}) && (a - b)[2] == 2. && (2. * a).y == 4. && a.dot(b) == 6.);
  std::ostringstream os;
  os << a;
  CHECK(os.str() == "1 2 3");

  // create() with members, standalone objects, push_back, clone, ids
  edm4hep::MCParticleCollection particles;
  auto p0 = particles.create(11, 1, 0, -1.f, 0.f, 0.000511);
  CHECK(p0.getPDG() == 11 && p0.getGeneratorStatus() == 1 && p0.getMass() == 0.000511 && p0.getHelicity() == 9);
  edm4hep::MutableMCParticle standalone;
  CHECK(standalone.isAvailable() && standalone.getObjectID().index == podio::ObjectID::untracked);
  standalone.setPDG(22);
  particles.push_back(standalone);
  standalone.setCharge(0.5f);  // after push_back the handle is the collection's element
  CHECK(particles.size() == 2 && particles[1].getCharge() == 0.5f && standalone.id().index == 1);
  auto copy = particles.at(0).clone();
  copy.setPDG(-11);
  particles->push_back(copy);
  CHECK(particles.at(2).getPDG() == -11 && particles.at(0).getPDG() == 11);
  p0.addToDaughters(particles[1]);
  k4ml::CollectionStore store;
  store.add(&particles);
  auto withRelations = p0.clone(), without = p0.clone(false);
  CHECK(withRelations.getDaughters().size() == 1 && without.getDaughters().size() == 0);
  CHECK(withRelations.getDaughters()[0] == particles[1]);
  CHECK(!edm4hep::MCParticle::makeEmpty().isAvailable());
  bool threw = false;
  try {
    particles.at(7);
  } catch (const std::out_of_range&) {
    threw = true;
  }
  CHECK(threw);

  // one-to-one relations of links, user data
  edm4hep::ReconstructedParticleCollection reco;
  auto r = reco.create();
  r.setEnergy(3.f);
  edm4hep::RecoMCParticleLinkCollection links;
  auto link = links.create();
  link.setFrom(r);
  link.setTo(p0);
  link.setWeight(0.5f);
  store.add(&reco);
  store.add(&links);
  CHECK(link.getFrom().getEnergy() == 3.f && link.getTo().getPDG() == 11 && link.getWeight() == 0.5f);
  podio::LinkCollection<edm4hep::ReconstructedParticle, edm4hep::MCParticle>* asPodio = &links;
  CHECK(asPodio->size() == 1);
  std::ostringstream printed;
  printed << particles[1] << " | " << edm4hep::MCParticle::makeEmpty();
  CHECK(printed.str().rfind("edm4hep::MCParticle #1 PDG=22", 0) == 0);
  CHECK(printed.str().find("| edm4hep::MCParticle (empty)") != std::string::npos);

  // a k4FWCore Transformer through the type-erased interface the framework uses
  auto* alg = k4ml::componentRegistry().at("Doubler")("Doubler");
  alg->setProperty("Factor", {"3"});
  CHECK(alg->kind() == "Transformer" && alg->input(0).type == "edm4hep::MCParticleCollection");
  CHECK(alg->output(0).locations == std::vector<std::string>{"Doubled"});
  auto res = alg->callErased({&particles}, {1});
  auto* doubled = dynamic_cast<podio::UserDataCollection<float>*>(res.outputs.at(0));
  CHECK(doubled && doubled->size() == 3 && doubled->vec()[0] == -6.f);
  auto msgs = alg->takeMessages();
  CHECK(msgs.size() == 1 && msgs[0].text == "doubled 3" && msgs[0].level == MSG::INFO);
  delete doubled;
  delete alg;

  if (failures == 0) std::puts("all podio API checks passed");
  return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
