// k4mlinference: {fmt}'s ranges header; our fmt/format.h formats ranges (std::vector, ...) itself, as
// "[1, 2, 3]" with strings quoted: ["a", "b"].
#pragma once

#include "fmt/format.h"
