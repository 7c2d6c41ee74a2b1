// k4mlinference: EDM4hep's edm4hep/Constants.h names (our own header): the well-known parameter names
// and the index enums of the covariance matrices, so that algorithms referring to them compile.
#pragma once

#include <cstdint>

namespace edm4hep {

/// Collection parameter holding a collection's cell-ID encoding string.
inline constexpr const char* CellIDEncoding = "CellIDEncoding";
/// Default name of the event header collection.
inline constexpr const char* EventHeaderName = "EventHeader";
/// Parameter naming the event weights.
inline constexpr const char* EventWeights = "EventWeightNames";
/// Parameter naming a cluster's shape parameters.
inline constexpr const char* shapeParameterNames = "shapeParameterNames";
/// ParticleID collection parameters.
inline constexpr const char* pidParameterNames = "ParameterNames";
inline constexpr const char* pidAlgoName = "AlgoName";
inline constexpr const char* pidAlgoType = "AlgoType";

/// Newer EDM4hep groups the same names under edm4hep::labels.
namespace labels {
  inline constexpr const char* CellIDEncoding = edm4hep::CellIDEncoding;
  inline constexpr const char* EventHeader = edm4hep::EventHeaderName;
  inline constexpr const char* EventWeights = edm4hep::EventWeights;
  inline constexpr const char* EventWeightsNames = edm4hep::EventWeights;
  inline constexpr const char* ShapeParameterNames = edm4hep::shapeParameterNames;
  inline constexpr const char* PIDParameterNames = edm4hep::pidParameterNames;
  inline constexpr const char* PIDAlgoName = edm4hep::pidAlgoName;
  inline constexpr const char* PIDAlgoType = edm4hep::pidAlgoType;
}  // namespace labels

/// Type of a covariance-matrix dimension index.
using DimType = std::uint16_t;

/// Indices into covariance matrices.
enum class Cartesian : DimType { x = 0, y, z };
enum class FourMomCoords : DimType { x = 0, y, z, t };
enum class TrackParams : DimType { d0 = 0, phi, omega, z0, tanLambda, time };
enum class TrackerPulseDims : DimType { charge = 0, time };

}  // namespace edm4hep
