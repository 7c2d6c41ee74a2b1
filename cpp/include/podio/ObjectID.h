// k4mlinference: podio::ObjectID (defined with the other persistent podio types).
#pragma once

#include "k4ml/podio_types.h"
