// k4mlinference: k4FWCore's metadata helpers (our own header). `k4FWCore::putParameter(name, value)`
// stores a parameter for the output file's `metadata` frame, written at the end of the run;
// `k4FWCore::getParameter<T>(name)` returns it (std::optional, empty when absent) from the input file's
// `metadata` frame or from what was put earlier in the same run. T: int, float, double, std::string, a
// std::vector of those, or edm4hep::utils::ParticleIDMeta (with edm4hep/utils/ParticleIDUtils.h, stored
// as the "<collection>__AlgoName", "__AlgoType" and "__ParameterNames" parameters). The algorithm
// argument of k4FWCore's signature is accepted and not needed (there is no MetadataSvc to look up).
#pragma once

#include <optional>
#include <string>

#include "Gaudi/Algorithm.h"
#include "k4ml/metadata.h"

namespace k4FWCore {

template <typename T>
void putParameter(const std::string& name, const T& value, const Gaudi::Algorithm* /*alg*/ = nullptr) {
  k4ml::putMetadata(name, value);
}

template <typename T>
std::optional<T> getParameter(const std::string& name, const Gaudi::Algorithm* /*alg*/ = nullptr) {
  return k4ml::getMetadata<T>(name);
}

}  // namespace k4FWCore
