// k4mlinference: GaudiAlg/FilterPredicate.h, the header older Gaudi (and older k4FWCore examples) used for
// Gaudi::Functional::FilterPredicate; it forwards to our Gaudi/Functional/FilterPredicate.h.
#pragma once

#include "Gaudi/Functional/FilterPredicate.h"
