// k4mlinference: k4FWCore's BaseClass_t, the base-class argument of Gaudi::Functional templates
// (accepted for source compatibility; every algorithm here derives from k4ml::AlgorithmBase).
#pragma once

struct BaseClass_t {};

namespace Gaudi::Functional::Traits {
template <typename T>
using BaseClass_t = ::BaseClass_t;
}  // namespace Gaudi::Functional::Traits
