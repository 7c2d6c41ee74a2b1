// k4mlinference: Gaudi::Property<T> for C++ algorithms, a property the framework sets from options
// files and the command line (types: int, long, unsigned, float, double, bool, std::string and
// std::vector of those).
#pragma once

#include "k4ml/functional.h"

namespace Gaudi {
template <typename T>
using Property = k4ml::Property<T>;
}  // namespace Gaudi
