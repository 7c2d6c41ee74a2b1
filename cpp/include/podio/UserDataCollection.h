// k4mlinference: podio::UserDataCollection<T>, a collection of plain numbers.
#pragma once

#include "k4ml/podio_types.h"

namespace podio {
template <typename T>
using UserDataCollection = k4ml::UserDataCollection<T>;
}  // namespace podio
