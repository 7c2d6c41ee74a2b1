// k4mlinference: EDM4hep's ParticleID utilities (our own header): ParticleIDMeta (an algorithm's name,
// type and parameter names), getParamIndex, and PIDHandler, which inverts the ParticleID ->
// ReconstructedParticle relation and stores / retrieves ParticleIDMeta as collection metadata
// ("<collection>__AlgoName", "<collection>__AlgoType", "<collection>__ParameterNames", the names EDM4hep
// uses). Without podio::Frame here, setAlgoInfo / getAlgoInfo take any frame-like object with
// putParameter / getParameter (k4ml::MetadataStore, what k4FWCore::putParameter fills); PIDHandler::from
// takes ParticleIDCollections (not an event Frame).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "edm4hep/Constants.h"
#include "edm4hep/ParticleIDCollection.h"
#include "edm4hep/ReconstructedParticleCollection.h"
#include "k4ml/metadata.h"

namespace edm4hep::utils {

namespace detail {
/// 32-bit MurmurHash3 (x86 variant) of `len` bytes, the algorithm-type hash EDM4hep uses (seed 0).
inline std::uint32_t murmur3_32(const void* data, std::size_t len, std::uint32_t seed = 0) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  constexpr std::uint32_t c1 = 0xcc9e2d51u, c2 = 0x1b873593u;
  auto rotl = [](std::uint32_t x, int r) { return (x << r) | (x >> (32 - r)); };
  std::uint32_t h = seed;
  const std::size_t blocks = len / 4;
  for (std::size_t i = 0; i < blocks; ++i) {
    std::uint32_t k;
    std::memcpy(&k, bytes + 4 * i, 4);  // little endian, as on the machines the hash is defined for
    k *= c1;
    k = rotl(k, 15);
    k *= c2;
    h ^= k;
    h = rotl(h, 13);
    h = h * 5 + 0xe6546b64u;
  }
  const unsigned char* tail = bytes + 4 * blocks;
  std::uint32_t k = 0;
  switch (len & 3) {
  case 3:
    k ^= std::uint32_t(tail[2]) << 16;
    [[fallthrough]];
  case 2:
    k ^= std::uint32_t(tail[1]) << 8;
    [[fallthrough]];
  case 1:
    k ^= tail[0];
    k *= c1;
    k = rotl(k, 15);
    k *= c2;
    h ^= k;
  }
  h ^= static_cast<std::uint32_t>(len);
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

inline std::int32_t algoTypeOf(const std::string& name) {
  return static_cast<std::int32_t>(murmur3_32(name.data(), name.size()));
}

inline std::string metaKey(const std::string& coll, const char* what) { return coll + "__" + what; }

/// frame.getParameter<T>(key) as an optional, for frames that return T or std::optional<T>.
template <typename T, typename Frame>
std::optional<T> readParameter(const Frame& frame, const std::string& key) {
  auto r = frame.template getParameter<T>(key);
  if constexpr (std::is_same_v<decltype(r), std::optional<T>>) {
    return r;
  } else {
    return std::optional<T>(std::move(r));
  }
}
}  // namespace detail

/// What describes the algorithm that made a ParticleID collection.
struct ParticleIDMeta {
  /// With a given algorithm type (as read back from metadata).
  ParticleIDMeta(const std::string& algName, std::int32_t algType, const std::vector<std::string>& parNames = {})
      : algoName(algName), paramNames(parNames), m_algoType(algType) {}
  /// The algorithm type is the 32-bit hash of the name.
  ParticleIDMeta(const std::string& algName) : algoName(algName), m_algoType(detail::algoTypeOf(algName)) {}
  ParticleIDMeta(const std::string& algName, const std::vector<std::string>& parNames)
      : algoName(algName), paramNames(parNames), m_algoType(detail::algoTypeOf(algName)) {}
  ParticleIDMeta() = default;

  std::string algoName{};
  std::vector<std::string> paramNames{};

  std::int32_t algoType() const { return m_algoType; }

private:
  std::int32_t m_algoType{0};
};

/// Index of `param` in the meta's parameter names (empty when it is not one of them).
inline std::optional<int> getParamIndex(const ParticleIDMeta& pidMetaInfo, const std::string& param) {
  const auto& names = pidMetaInfo.paramNames;
  const auto it = std::find(names.begin(), names.end(), param);
  if (it == names.end()) return std::nullopt;
  return static_cast<int>(it - names.begin());
}

/// ReconstructedParticle -> its ParticleIDs, plus the meta information of the PID algorithms.
class PIDHandler {
public:
  PIDHandler() = default;
  PIDHandler(const PIDHandler&) = delete;
  PIDHandler& operator=(const PIDHandler&) = delete;
  PIDHandler(PIDHandler&&) = default;
  PIDHandler& operator=(PIDHandler&&) = default;

  /// A handler knowing the ParticleIDs of the given collections.
  template <typename... Colls>
  static PIDHandler from(const ParticleIDCollection& coll, const Colls&... more) {
    static_assert((std::is_same_v<Colls, ParticleIDCollection> && ...), "PIDHandler::from takes ParticleIDCollections");
    PIDHandler h;
    h.addColl(coll);
    (h.addColl(more), ...);
    return h;
  }

  void addColl(const ParticleIDCollection& coll) {
    for (const auto pid : coll) m_byReco.emplace(pid.getParticle(), pid);
  }

  void addColl(const ParticleIDCollection& coll, const ParticleIDMeta& pidInfo) {
    addColl(coll);
    addMetaInfo(pidInfo);
  }

  /// Throws std::runtime_error for an algorithm name or type that is known already.
  void addMetaInfo(const ParticleIDMeta& pidInfo) {
    if (m_types.count(pidInfo.algoName))
      throw std::runtime_error("Cannot have duplicate algorithm names (" + pidInfo.algoName + " already exists)");
    if (m_metas.count(pidInfo.algoType()))
      throw std::runtime_error("Cannot have duplicate algorithm types (" + std::to_string(pidInfo.algoType()) +
                               " already exists)");
    m_types.emplace(pidInfo.algoName, pidInfo.algoType());
    m_metas.emplace(pidInfo.algoType(), pidInfo);
  }

  template <typename... Metas>
  void addMetaInfos(const Metas&... metas) {
    static_assert((std::is_same_v<Metas, ParticleIDMeta> && ...), "addMetaInfos takes ParticleIDMeta objects");
    (addMetaInfo(metas), ...);
  }

  std::vector<ParticleID> getPIDs(const ReconstructedParticle& reco) const {
    std::vector<ParticleID> out;
    const auto [first, last] = m_byReco.equal_range(reco);
    for (auto it = first; it != last; ++it) out.push_back(it->second);
    return out;
  }

  std::optional<ParticleID> getPID(const ReconstructedParticle& reco, int algoType) const {
    const auto [first, last] = m_byReco.equal_range(reco);
    for (auto it = first; it != last; ++it)
      if (it->second.getAlgorithmType() == algoType) return it->second;
    return std::nullopt;
  }

  std::optional<int> getParamIndex(std::int32_t algoType, const std::string& paramName) const {
    const auto it = m_metas.find(algoType);
    if (it == m_metas.end()) return std::nullopt;
    return edm4hep::utils::getParamIndex(it->second, paramName);
  }

  std::optional<std::int32_t> getAlgoType(const std::string& algoName) const {
    const auto it = m_types.find(algoName);
    if (it == m_types.end()) return std::nullopt;
    return it->second;
  }

  /// Store the meta information of collection `collname` in `metadata` and set the algorithm type of
  /// every ParticleID in `pidcoll`.
  template <typename Frame>
  static void setAlgoInfo(Frame& metadata, ParticleIDCollection& pidcoll, const std::string& collname,
                          const ParticleIDMeta& pidMetaInfo) {
    for (std::size_t i = 0; i < pidcoll.size(); ++i) pidcoll.mutableAt(i).setAlgorithmType(pidMetaInfo.algoType());
    setAlgoInfo(metadata, collname, pidMetaInfo);
  }

  template <typename Frame>
  static void setAlgoInfo(Frame& metadata, const std::string& collname, const ParticleIDMeta& pidMetaInfo) {
    metadata.putParameter(detail::metaKey(collname, edm4hep::pidAlgoName), pidMetaInfo.algoName);
    metadata.putParameter(detail::metaKey(collname, edm4hep::pidAlgoType), pidMetaInfo.algoType());
    metadata.putParameter(detail::metaKey(collname, edm4hep::pidParameterNames), pidMetaInfo.paramNames);
  }

  /// The meta information of collection `collName` (empty when `metadata` has no algorithm name for it).
  template <typename Frame>
  static std::optional<ParticleIDMeta> getAlgoInfo(const Frame& metadata, const std::string& collName) {
    auto name = detail::readParameter<std::string>(metadata, detail::metaKey(collName, edm4hep::pidAlgoName));
    if (!name || name->empty()) return std::nullopt;
    auto type = detail::readParameter<int>(metadata, detail::metaKey(collName, edm4hep::pidAlgoType));
    auto params = detail::readParameter<std::vector<std::string>>(
        metadata, detail::metaKey(collName, edm4hep::pidParameterNames));
    return ParticleIDMeta(*name, type.value_or(0), params.value_or(std::vector<std::string>{}));
  }

private:
  std::multimap<ReconstructedParticle, ParticleID> m_byReco{};
  std::map<std::string, int> m_types{};
  std::map<int, ParticleIDMeta> m_metas{};
};

/// k4FWCore::putParameter / getParameter with a ParticleIDMeta: the collection's PID metadata (see k4ml/metadata.h).
inline void k4mlPutMetadata(k4ml::MetadataStore& store, const std::string& collName, const ParticleIDMeta& meta) {
  PIDHandler::setAlgoInfo(store, collName, meta);
}
inline std::optional<ParticleIDMeta> k4mlGetMetadata(const k4ml::MetadataStore& store, const std::string& collName,
                                                     ParticleIDMeta*) {
  return PIDHandler::getAlgoInfo(store, collName);
}

}  // namespace edm4hep::utils
