// k4mlinference: Gaudi's algorithm base types, for sources that include this header.
#pragma once

#include "k4FWCore/FunctionalUtils.h"

namespace Gaudi {
using Algorithm = k4ml::AlgorithmBase;
}  // namespace Gaudi
