// Test algorithms for run metadata from C++ (k4FWCore/MetadataUtils.h) and ParticleID metadata
// (edm4hep/utils/ParticleIDUtils.h), written the way k4FWCore's ParticleID examples are.
#include "Gaudi/Property.h"
#include "k4FWCore/Consumer.h"
#include "k4FWCore/MetadataUtils.h"
#include "k4FWCore/Producer.h"
#include "k4FWCore/Transformer.h"

#include "edm4hep/ParticleIDCollection.h"
#include "edm4hep/ReconstructedParticleCollection.h"
#include "edm4hep/utils/ParticleIDUtils.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>
#include <string>
#include <vector>

/// `Count` candidates per event with charges alternating +1, -1.
struct MakeCandidates final : k4FWCore::Producer<edm4hep::ReconstructedParticleCollection()> {
  MakeCandidates(const std::string& name, ISvcLocator* svcLoc)
      : Producer(name, svcLoc, {}, KeyValues("Candidates", {"Candidates"})) {}

  edm4hep::ReconstructedParticleCollection operator()() const override {
    edm4hep::ReconstructedParticleCollection out;
    for (int i = 0; i < m_count; ++i) {
      auto c = out.create();
      c.setCharge(i % 2 ? -1.f : 1.f);
      c.setPDG(100 + i);
    }
    return out;
  }

  StatusCode initialize() override {
    // plain parameters of every supported type, for the output's metadata frame
    k4FWCore::putParameter("CandidatesPerEvent", m_count.value(), this);
    k4FWCore::putParameter("CandidateMassCut", 0.25f, this);
    k4FWCore::putParameter("CandidateMomentumCut", 1.5, this);
    k4FWCore::putParameter("CandidateMaker", std::string("MakeCandidates"));
    k4FWCore::putParameter("CandidateWindows", std::vector<double>{0.5, 2.5});
    k4FWCore::putParameter("CandidateCodes", std::vector<int>{100, 101});
    return StatusCode::SUCCESS;
  }

  Gaudi::Property<int> m_count{this, "Count", 3, "Candidates per event"};
};

/// One ParticleID per candidate from algorithm `AlgoName`; its ParticleIDMeta goes into the metadata
/// under the output collection's name, the i-th parameter of every ParticleID is i + 0.25.
struct TagCandidates final
    : k4FWCore::Transformer<edm4hep::ParticleIDCollection(const edm4hep::ReconstructedParticleCollection&)> {
  TagCandidates(const std::string& name, ISvcLocator* svcLoc)
      : Transformer(name, svcLoc, {KeyValues("InputCollection", {"Candidates"})},
                    KeyValues("ParticleIDCollection", {"CandidatePIDs"})) {}

  StatusCode initialize() override {
    m_meta = edm4hep::utils::ParticleIDMeta(m_algoName.value(), m_paramNames.value());
    k4FWCore::putParameter(outputLocations("ParticleIDCollection")[0], m_meta, this);
    info() << fmt::format("{} (type {}) with parameters {}", m_meta.algoName, m_meta.algoType(), m_meta.paramNames)
           << endmsg;
    return StatusCode::SUCCESS;
  }

  edm4hep::ParticleIDCollection operator()(const edm4hep::ReconstructedParticleCollection& cands) const override {
    edm4hep::ParticleIDCollection pids;
    for (const auto& c : cands) {
      auto pid = pids.create();
      pid.setAlgorithmType(m_meta.algoType());
      pid.setPDG(c.getCharge() > 0 ? 211 : -211);
      pid.setParticle(c);
      for (std::size_t i = 0; i < m_meta.paramNames.size(); ++i) pid.addToParameters(i + 0.25f);
    }
    return pids;
  }

  Gaudi::Property<std::string> m_algoName{this, "AlgoName", "tagger", "Name of the PID algorithm"};
  Gaudi::Property<std::vector<std::string>> m_paramNames{this, "ParamNames", {"score"}, "Its parameter names"};
  edm4hep::utils::ParticleIDMeta m_meta{};
};

/// Reads the ParticleIDMeta of two PID collections (from this run or from the input file) and checks
/// every candidate's ParticleIDs through a PIDHandler.
struct CheckCandidatePIDs final
    : k4FWCore::Consumer<void(const edm4hep::ParticleIDCollection&, const edm4hep::ParticleIDCollection&,
                              const edm4hep::ReconstructedParticleCollection&)> {
  CheckCandidatePIDs(const std::string& name, ISvcLocator* svcLoc)
      : Consumer(name, svcLoc,
                 {KeyValues("PIDs1", {"PIDs1"}), KeyValues("PIDs2", {"PIDs2"}),
                  KeyValues("Candidates", {"Candidates"})}) {}

  StatusCode initialize() override {
    for (const auto* key : {"PIDs1", "PIDs2"}) {
      const std::string coll = inputLocations(key)[0];
      auto meta = k4FWCore::getParameter<edm4hep::utils::ParticleIDMeta>(coll, this);
      if (!meta) {
        error() << "no ParticleID metadata for " << coll << endmsg;
        return StatusCode::FAILURE;
      }
      info() << fmt::format("{}: {} (type {}) with parameters {}", coll, meta->algoName, meta->algoType(),
                            meta->paramNames)
             << endmsg;
      m_handler.addMetaInfo(*meta);
      m_metas.push_back(*meta);
    }
    const auto count = k4FWCore::getParameter<int>("CandidatesPerEvent", this);
    const auto cut = k4FWCore::getParameter<float>("CandidateMassCut", this);
    const auto momentum = k4FWCore::getParameter<double>("CandidateMomentumCut", this);
    const auto maker = k4FWCore::getParameter<std::string>("CandidateMaker", this);
    const auto windows = k4FWCore::getParameter<std::vector<double>>("CandidateWindows", this);
    const auto label = k4FWCore::getParameter<std::string>("RunLabel", this);  // from the options
    info() << fmt::format("candidates {} cut {} momentum {} maker {} windows {} label {}", count.value_or(-1),
                          cut.value_or(-1.f), momentum.value_or(-1.0), maker.value_or("?"),
                          windows.value_or(std::vector<double>{}), label.value_or("?"))
           << endmsg;
    if (k4FWCore::getParameter<int>("NoSuchParameter", this).has_value()) return StatusCode::FAILURE;
    return StatusCode::SUCCESS;
  }

  void operator()(const edm4hep::ParticleIDCollection& pids1, const edm4hep::ParticleIDCollection& pids2,
                  const edm4hep::ReconstructedParticleCollection& cands) const {
    auto handler = edm4hep::utils::PIDHandler::from(pids1, pids2);
    for (const auto& meta : m_metas) handler.addMetaInfo(meta);
    int checked = 0;
    for (const auto c : cands) {
      if (handler.getPIDs(c).size() != 2) throw std::runtime_error("expected 2 ParticleIDs per candidate");
      for (const auto& meta : m_metas) {
        const auto type = handler.getAlgoType(meta.algoName).value();
        const auto pid = handler.getPID(c, type);
        if (!pid) throw std::runtime_error(fmt::format("no {} ParticleID for candidate {}", meta.algoName, c.id().index));
        const int last = static_cast<int>(meta.paramNames.size()) - 1;
        const int index = handler.getParamIndex(type, meta.paramNames.back()).value();
        if (index != last || pid->getParameters()[index] != index + 0.25f)
          throw std::runtime_error(fmt::format("{}: wrong parameter {}", meta.algoName, meta.paramNames.back()));
        ++checked;
      }
    }
    info() << fmt::format("checked {} ParticleIDs of {} candidates", checked, cands.size()) << endmsg;
  }

  edm4hep::utils::PIDHandler m_handler{};
  std::vector<edm4hep::utils::ParticleIDMeta> m_metas{};
};

DECLARE_COMPONENT(MakeCandidates)
DECLARE_COMPONENT(TagCandidates)
DECLARE_COMPONENT(CheckCandidatePIDs)
