// k4mlinference: Gaudi::Functional::Transformer for k4FWCore algorithms written against Gaudi's functional
// headers (the base-class argument is accepted and ignored; k4FWCore/BaseClass.h).
#pragma once

#include "k4FWCore/BaseClass.h"
#include "k4FWCore/FunctionalUtils.h"

namespace Gaudi::Functional {
template <typename Signature, typename Base = BaseClass_t>
using Transformer = k4FWCore::Transformer<Signature>;
}  // namespace Gaudi::Functional
