// The generated datamodel used from plain C++: no ROOT, no Python.
#include "edm4eic/edm4eic.h"
#include "edm4hep/edm4hep.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "check.h"

int main() {
  // layout as podio's (EDM4hep 1.0)
  CHECK(sizeof(edm4hep::MCParticleData) == 152);
  CHECK(sizeof(edm4hep::CalorimeterHitData) == 40);

  edm4hep::MCParticleCollection mcps;
  auto z = mcps.create();
  z.setPDG(23);
  z.setMomentum({0., 0., 45.});
  auto e1 = mcps.create();
  e1.setPDG(11);
  auto e2 = mcps.create();
  e2.setPDG(-11);
  z.addToDaughters(e1);
  z.addToDaughters(e2);
  e1.addToParents(z);
  e2.addToParents(z);
  CHECK(z.getDaughters().size() == 2);
  CHECK(z.getDaughters(1).getPDG() == -11);
  CHECK(e2.getParents()[0] == z);
  CHECK(mcps[0].getMomentum().z == 45.);
  CHECK(mcps[1].getHelicity() == 9);  // default from the datamodel

  int sum = 0;
  for (const auto& p : mcps) sum += p.getPDG();
  CHECK(sum == 23);

  // relations across collections resolve through a store (the C++ side of a Frame)
  edm4hep::CalorimeterHitCollection hits;
  auto h = hits.create();
  h.setEnergy(2.5f);
  edm4hep::ClusterCollection clusters;
  auto c = clusters.create();
  c.addToHits(h);
  c.addToShapeParameters(0.5f);
  k4ml::CollectionStore store;
  store.add(&hits);
  store.add(&clusters);
  CHECK(c.getHits(0).getEnergy() == 2.5f);
  CHECK(c.getShapeParameters()[0] == 0.5f);

  // renaming a collection's ID rewrites references to it
  const auto old = hits.getID();
  store.remove(old);
  hits.setID(0x1234u);
  clusters.remapCollectionID(old, 0x1234u);
  store.add(&hits);
  CHECK(c.getHits(0).getEnergy() == 2.5f);

  // one-to-one relation, unset by default
  edm4hep::CaloHitContributionCollection contribs;
  auto ct = contribs.create();
  CHECK(!ct.getParticle().isAvailable());
  store.add(&mcps);
  ct.setParticle(z);
  store.add(&contribs);
  CHECK(ct.getParticle().getPDG() == 23);

  // a subset collection holds only references; they resolve through the same store
  k4ml::SubsetCollection sub("edm4hep::MCParticleCollection", "edm4hep::MCParticle", "edm4hep::MCParticleData", 6);
  sub.push_back(e2.getObjectID());
  store.add(&sub);
  CHECK(sub.isSubsetCollection() && !mcps.isSubsetCollection() && sub.size() == 1);
  const auto* owner = sub.resolve<edm4hep::MCParticleCollection>(sub.ref(0));
  CHECK(owner == &mcps && (*owner)[sub.ref(0).index].getPDG() == -11);
  CHECK(sub.collectionOf(0) == &mcps);

  // Tensor
  edm4eic::TensorCollection tensors;
  auto t = tensors.create();
  t.setElementType(1);
  t.addToShape(2);
  t.addToShape(2);
  for (float v : {1.f, 2.f, 3.f, 4.f}) t.addToFloatData(v);
  CHECK(t.getFloatData().size() == 4 && t.getShape()[1] == 2);

  // links and user data
  edm4hep::RecoMCParticleLinkCollection links;
  CHECK(links.getTypeName() == "podio::LinkCollection<edm4hep::ReconstructedParticle,edm4hep::MCParticle>");
  k4ml::UserDataCollection<float> ud;
  ud.push_back(1.5f);
  CHECK(ud.getTypeName() == "podio::UserDataCollection<float>" && ud.size() == 1);

  if (failures == 0) std::puts("all C++ datamodel checks passed");
  return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
