// k4mlinference: podio::CollectionBase, the type-erased base of every collection.
#pragma once

#include "k4ml/podio_types.h"

namespace podio {
using CollectionBase = k4ml::CollectionBase;
}  // namespace podio
