// k4mlinference: {fmt}'s fmt/core.h — the same small subset as fmt/format.h (our own implementation).
#pragma once

#include "fmt/format.h"
