// k4mlinference: GaudiAlg/Consumer.h, the header older Gaudi (and older k4FWCore examples) used for
// Gaudi::Functional::Consumer; it forwards to our Gaudi/Functional/Consumer.h.
#pragma once

#include "Gaudi/Functional/Consumer.h"
