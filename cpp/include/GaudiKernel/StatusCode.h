// k4mlinference: the StatusCode that Gaudi algorithms return from initialize()/finalize().
// Our own minimal version: success or failure, checked by the framework after each call.
#pragma once

#include <stdexcept>

class StatusCode {
public:
  enum Code : int { FAILURE = 0, SUCCESS = 1, RECOVERABLE = 2 };
  constexpr StatusCode(Code c = SUCCESS) : m_code(c) {}
  constexpr bool isSuccess() const { return m_code == SUCCESS; }
  constexpr bool isFailure() const { return m_code != SUCCESS; }
  constexpr bool isRecoverable() const { return m_code == RECOVERABLE; }
  constexpr int getCode() const { return m_code; }
  const StatusCode& ignore() const { return *this; }
  /// Throw (with `message` and `tag`) unless this is a success; Gaudi's orThrow.
  const StatusCode& orThrow(const char* message = "", const char* tag = "") const {
    if (isFailure()) throw std::runtime_error(std::string(tag) + ": " + message);
    return *this;
  }
  constexpr bool operator==(const StatusCode& o) const { return m_code == o.m_code; }
  constexpr bool operator!=(const StatusCode& o) const { return m_code != o.m_code; }

private:
  Code m_code;
};
