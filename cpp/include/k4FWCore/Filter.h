// k4mlinference: k4FWCore::FilterPredicate (implemented in k4FWCore/FunctionalUtils.h).
#pragma once

#include "k4FWCore/FunctionalUtils.h"
