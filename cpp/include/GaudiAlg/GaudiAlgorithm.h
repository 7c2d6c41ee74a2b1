// k4mlinference: GaudiAlg/GaudiAlgorithm.h of older Gaudi. Only the name is provided (an alias of our
// algorithm base, as `Gaudi::Algorithm`), so that functional algorithms written with
// `Gaudi::Functional::Traits::BaseClass_t<GaudiAlgorithm>` compile; GaudiAlgorithm's own services and
// tools are not provided.
#pragma once

#include "Gaudi/Algorithm.h"

using GaudiAlgorithm = Gaudi::Algorithm;
