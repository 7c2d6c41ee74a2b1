// k4mlinference: GaudiAlg/Producer.h, the header older Gaudi (and older k4FWCore examples) used for
// Gaudi::Functional::Producer; it forwards to our Gaudi/Functional/Producer.h.
#pragma once

#include "Gaudi/Functional/Producer.h"
