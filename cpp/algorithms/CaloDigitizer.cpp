// CaloDigitizer: simulated calorimeter cells -> calibrated, smeared, thresholded hits.
//
// A k4FWCore functional algorithm, written as for Key4hep (k4FWCore/Transformer.h, Gaudi::Property,
// podio handles) and compiled by k4mlinference into a cached library. Random numbers come from a
// counter-based generator keyed on (Seed, event number, cellID), so a cell's smearing does not depend
// on the order of hits, on how events are split over processes, or on the platform.
#include "Gaudi/Property.h"
#include "k4FWCore/Transformer.h"

#include "edm4hep/CalorimeterHitCollection.h"
#include "edm4hep/SimCalorimeterHitCollection.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

struct CaloDigitizer final
    : k4FWCore::Transformer<edm4hep::CalorimeterHitCollection(const edm4hep::SimCalorimeterHitCollection&)> {
  CaloDigitizer(const std::string& name, ISvcLocator* svcLoc)
      : Transformer(name, svcLoc, KeyValues("InputCollection", {"SimCalorimeterHits"}),
                    KeyValues("OutputCollection", {"CalorimeterHits"})) {}

  edm4hep::CalorimeterHitCollection operator()(const edm4hep::SimCalorimeterHitCollection& simHits) const override {
    edm4hep::CalorimeterHitCollection hits;
    hits.reserve(simHits.size());
    const double calib = m_calibration, a = m_stochastic, b = m_constant, noise = m_noise, cut = m_threshold;
    for (const auto& sim : simHits) {
      const double e = calib * sim.getEnergy();
      // sigma/E = a/sqrt(E) (+) b, plus an absolute noise term (energies in GeV)
      const double sigma = std::sqrt(a * a * std::max(e, 0.0) + b * b * e * e + noise * noise);
      k4ml::KeyedRandom rng(static_cast<std::uint64_t>(static_cast<long>(m_seed)), eventNumber(), sim.getCellID());
      const double smeared = e + sigma * rng.gauss();
      if (smeared < cut) continue;
      auto hit = hits.create();
      hit.setCellID(sim.getCellID());
      hit.setEnergy(static_cast<float>(smeared));
      hit.setEnergyError(static_cast<float>(sigma));
      hit.setPosition(sim.getPosition());
      hit.setType(m_hitType);
      hit.setTime(earliestTime(sim));
    }
    return hits;
  }

  /// Time of the earliest contribution (0 when contributions cannot be resolved).
  static float earliestTime(const edm4hep::SimCalorimeterHit& sim) {
    float t = std::numeric_limits<float>::max();
    for (const auto& contribution : sim.getContributions())
      if (contribution.isAvailable()) t = std::min(t, contribution.getTime());
    return t == std::numeric_limits<float>::max() ? 0.f : t;
  }

private:
  Gaudi::Property<double> m_calibration{this, "Calibration", 1.0, "sampling-fraction calibration: E_hit = Calibration * E_sim"};
  Gaudi::Property<double> m_stochastic{this, "Stochastic", 0.15, "stochastic resolution term a in sigma/E = a/sqrt(E) (+) b"};
  Gaudi::Property<double> m_constant{this, "Constant", 0.01, "constant resolution term b"};
  Gaudi::Property<double> m_noise{this, "Noise", 0.0, "gaussian electronics noise per cell [GeV]"};
  Gaudi::Property<double> m_threshold{this, "Threshold", 0.0005, "hits below this smeared energy are dropped [GeV]"};
  Gaudi::Property<int> m_seed{this, "Seed", 12345, "random seed; smearing is keyed on (Seed, event, cellID)"};
  Gaudi::Property<int> m_hitType{this, "HitType", 0, "value written to CalorimeterHit::type"};
};

DECLARE_COMPONENT(CaloDigitizer)
