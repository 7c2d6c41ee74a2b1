// k4mlinference: Gaudi's exception type; the framework reports its message with the algorithm and event.
#pragma once

#include <stdexcept>
#include <string>

#include "GaudiKernel/StatusCode.h"

class GaudiException : public std::runtime_error {
public:
  GaudiException(const std::string& message, const std::string& tag, const StatusCode& code = StatusCode::FAILURE)
      : std::runtime_error(tag.empty() ? message : tag + ": " + message), m_tag(tag), m_code(code) {}
  const std::string& tag() const { return m_tag; }
  const StatusCode& code() const { return m_code; }

private:
  std::string m_tag;
  StatusCode m_code;
};
