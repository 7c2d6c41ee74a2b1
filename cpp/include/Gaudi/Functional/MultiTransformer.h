// k4mlinference: Gaudi::Functional::MultiTransformer (see Gaudi/Functional/Transformer.h).
#pragma once

#include "k4FWCore/BaseClass.h"
#include "k4FWCore/FunctionalUtils.h"

namespace Gaudi::Functional {
template <typename Signature, typename Base = BaseClass_t>
using MultiTransformer = k4FWCore::MultiTransformer<Signature>;
}  // namespace Gaudi::Functional
