// k4mlinference: GaudiAlg/Transformer.h, the header older Gaudi (and older k4FWCore examples) used for
// Gaudi::Functional::Transformer; it forwards to our Gaudi/Functional/Transformer.h.
#pragma once

#include "Gaudi/Functional/Transformer.h"
