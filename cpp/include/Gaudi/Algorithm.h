// k4mlinference: Gaudi's algorithm base types, for sources that include this header (`Gaudi::Algorithm`
// itself is declared with the functional kinds, as Gaudi's functional headers bring it in too).
#pragma once

#include "k4FWCore/FunctionalUtils.h"
