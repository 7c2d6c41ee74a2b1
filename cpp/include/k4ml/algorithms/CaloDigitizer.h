// CaloDigitizer: simulated calorimeter cells -> calibrated, smeared, thresholded hits.
//
// A k4ml C++ functional algorithm (see k4ml/functional.h). Random numbers come from a counter-based
// generator keyed on (Seed, event number, cellID), so a cell's smearing does not depend on the
// order of hits, on how events are split over processes, or on the platform.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include "edm4hep/edm4hep.h"
#include "k4ml/functional.h"

namespace k4ml::algorithms {

struct CaloDigitizer final
    : k4ml::Transformer<edm4hep::CalorimeterHitCollection(const edm4hep::SimCalorimeterHitCollection&)> {
  CaloDigitizer()
      : Transformer({KeyValue("InputCollection", "SimCalorimeterHits")}, KeyValue("OutputCollection", "CalorimeterHits")) {}

  edm4hep::CalorimeterHitCollection operator()(const edm4hep::SimCalorimeterHitCollection& in) const override {
    edm4hep::CalorimeterHitCollection out;
    out.m_data.reserve(in.size());
    const double calib = calibration, a = stochastic, b = constant, noise = noiseSigma, cut = threshold;
    for (std::size_t i = 0; i < in.size(); ++i) {
      const auto& sim = in.m_data[i];
      const double e = calib * sim.energy;
      // sigma/E = a/sqrt(E) (+) b, plus an absolute noise term (energies in GeV)
      const double sigma = std::sqrt(a * a * std::max(e, 0.0) + b * b * e * e + noise * noise);
      k4ml::KeyedRandom rng(static_cast<std::uint64_t>(static_cast<long>(seed)), eventNumber(), sim.cellID);
      const double smeared = e + sigma * rng.gauss();
      if (smeared < cut) continue;
      edm4hep::CalorimeterHitData hit{};
      hit.cellID = sim.cellID;
      hit.energy = static_cast<float>(smeared);
      hit.energyError = static_cast<float>(sigma);
      hit.position = sim.position;
      hit.type = hitType;
      hit.time = earliestTime(in, i);
      out.m_data.push_back(hit);
    }
    return out;
  }

  /// Time of the earliest contribution (0 when contributions cannot be resolved).
  static float earliestTime(const edm4hep::SimCalorimeterHitCollection& in, std::size_t i) {
    const auto& d = in.m_data[i];
    float t = std::numeric_limits<float>::max();
    for (unsigned k = d.contributions_begin; k < d.contributions_end; ++k) {
      const auto& id = in.m_rel_contributions[k];
      if (const auto* c = in.resolve<edm4hep::CaloHitContributionCollection>(id))
        if (id.index >= 0 && static_cast<std::size_t>(id.index) < c->size()) t = std::min(t, c->m_data[id.index].time);
    }
    return t == std::numeric_limits<float>::max() ? 0.f : t;
  }

  k4ml::Property<double> calibration{this, "Calibration", 1.0, "sampling-fraction calibration: E_hit = Calibration * E_sim"};
  k4ml::Property<double> stochastic{this, "Stochastic", 0.15, "stochastic resolution term a in sigma/E = a/sqrt(E) (+) b"};
  k4ml::Property<double> constant{this, "Constant", 0.01, "constant resolution term b"};
  k4ml::Property<double> noiseSigma{this, "Noise", 0.0, "gaussian electronics noise per cell [GeV]"};
  k4ml::Property<double> threshold{this, "Threshold", 0.0005, "hits below this smeared energy are dropped [GeV]"};
  k4ml::Property<int> seed{this, "Seed", 12345, "random seed; smearing is keyed on (Seed, event, cellID)"};
  k4ml::Property<int> hitType{this, "HitType", 0, "value written to CalorimeterHit::type"};
};

}  // namespace k4ml::algorithms

using k4ml::algorithms::CaloDigitizer;
K4ML_ALGORITHM(CaloDigitizer, "Digitizes SimCalorimeterHits: calibration factor, gaussian smearing with stochastic, constant and noise terms (seeded per event and cell), threshold cut; cellID, position and earliest contribution time are kept.")
