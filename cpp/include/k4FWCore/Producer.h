// k4mlinference: k4FWCore::Producer (implemented in k4FWCore/FunctionalUtils.h, on our framework).
#pragma once

#include "k4FWCore/FunctionalUtils.h"
