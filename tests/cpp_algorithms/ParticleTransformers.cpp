// k4FWCore-style Transformer and MultiTransformer on MCParticles, with Tensor input from a model.
#include "Gaudi/Property.h"
#include "k4FWCore/MultiTransformer.h"
#include "k4FWCore/Transformer.h"

#include "edm4eic/TensorCollection.h"
#include "edm4hep/MCParticleCollection.h"
#include "edm4hep/ReconstructedParticleCollection.h"
#include "podio/UserDataCollection.h"

#include <cmath>
#include <stdexcept>
#include <string>
#include <tuple>

/// Copies the particles with the PDG shifted by an offset and a parent link to the original.
struct ShiftPDG final : k4FWCore::Transformer<edm4hep::MCParticleCollection(const edm4hep::MCParticleCollection&)> {
  ShiftPDG(const std::string& name, ISvcLocator* svcLoc)
      : Transformer(name, svcLoc, KeyValues("InputCollection", {"GunParticles"}),
                    KeyValues("OutputCollection", {"ShiftedParticles"})) {}

  edm4hep::MCParticleCollection operator()(const edm4hep::MCParticleCollection& input) const override {
    edm4hep::MCParticleCollection out;
    for (const auto& p : input) {
      auto copy = p.clone();
      copy.setPDG(p.getPDG() + m_offset);
      copy.addToParents(p);
      out.push_back(copy);
    }
    return out;
  }

  Gaudi::Property<int> m_offset{this, "Offset", 100, "added to every PDG"};
};

DECLARE_COMPONENT(ShiftPDG)

/// Particles and their model scores -> reconstructed particles (energy scaled by the score) and
/// a per-event summary (number of particles, summed score).
struct ScoreParticles final
    : k4FWCore::MultiTransformer<std::tuple<edm4hep::ReconstructedParticleCollection, podio::UserDataCollection<float>>(
          const edm4hep::MCParticleCollection&, const edm4eic::TensorCollection&)> {
  ScoreParticles(const std::string& name, ISvcLocator* svcLoc)
      : MultiTransformer(name, svcLoc,
                         {KeyValues("InputParticles", {"GunParticles"}), KeyValues("InputScores", {"Scores"})},
                         {KeyValues("OutputParticles", {"RecoParticles"}), KeyValues("OutputSummary", {"Summary"})}) {}

  std::tuple<edm4hep::ReconstructedParticleCollection, podio::UserDataCollection<float>> operator()(
      const edm4hep::MCParticleCollection& particles, const edm4eic::TensorCollection& scores) const override {
    if (scores.size() != 1) throw std::runtime_error("expected one score tensor, got " + std::to_string(scores.size()));
    const auto tensor = scores.at(0);
    const auto values = tensor.getFloatData();
    if (tensor.getShape().size() != 2 || values.size() != 3 * particles.size())
      throw std::runtime_error("score tensor does not have 3 values per particle");
    edm4hep::ReconstructedParticleCollection reco;
    podio::UserDataCollection<float> summary;
    float total = 0.f;
    std::size_t i = 0;
    for (const auto& p : particles) {
      const auto& mom = p.getMomentum();
      auto r = reco.create();
      const float score = values[3 * i + 2];  // the model's z output for this particle
      r.setEnergy(std::sqrt(mom.dot(mom)) * m_weight);
      r.setMomentum({static_cast<float>(mom.x), static_cast<float>(mom.y), score});
      r.setPDG(p.getPDG());
      r.setCharge(p.getCharge());
      total += score;
      ++i;
    }
    summary.push_back(static_cast<float>(particles.size()));
    summary.push_back(total);
    return std::make_tuple(std::move(reco), std::move(summary));
  }

  Gaudi::Property<double> m_weight{this, "Weight", 1.0, "energy weight"};
};

DECLARE_COMPONENT(ScoreParticles)
