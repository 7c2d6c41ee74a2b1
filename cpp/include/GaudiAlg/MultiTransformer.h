// k4mlinference: GaudiAlg/MultiTransformer.h, the header older Gaudi (and older k4FWCore examples) used for
// Gaudi::Functional::MultiTransformer; it forwards to our Gaudi/Functional/MultiTransformer.h.
#pragma once

#include "Gaudi/Functional/MultiTransformer.h"
