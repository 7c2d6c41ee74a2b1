// k4mlinference: Gaudi's message levels (same numbers, so OutputLevel=DEBUG means the same).
#pragma once

namespace MSG {
enum Level { NIL = 0, VERBOSE, DEBUG, INFO, WARNING, ERROR, FATAL, ALWAYS, NUM_LEVELS };
}  // namespace MSG
