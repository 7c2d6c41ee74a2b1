// k4mlinference: `info() << ... << endmsg` for C++ algorithms.
//
// A MsgStream collects one message; `endmsg` hands it to its algorithm, which keeps it until the
// framework prints it with the Python algorithms' messages (same format, same order, same
// OutputLevel filtering). Streams below the algorithm's level are inactive and format nothing.
#pragma once

#include <iomanip>
#include <ios>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "GaudiKernel/IMessageSvc.h"

namespace k4ml {
/// One printed message: Gaudi level and text.
struct LogRecord {
  int level{MSG::INFO};
  std::string text;
};
}  // namespace k4ml

class MsgStream {
public:
  explicit MsgStream(std::vector<k4ml::LogRecord>* sink = nullptr) : m_sink(sink) {}
  MsgStream& setLevel(int level, int threshold) {
    m_level = level;
    m_active = level >= threshold;
    return *this;
  }
  bool isActive() const { return m_active; }
  int level() const { return m_level; }
  template <typename T>
  MsgStream& operator<<(const T& value) {
    if (m_active) m_os << value;
    return *this;
  }
  MsgStream& operator<<(MsgStream& (*manip)(MsgStream&)) { return manip(*this); }
  MsgStream& operator<<(std::ostream& (*manip)(std::ostream&)) {
    if (m_active) manip(m_os);
    return *this;
  }
  MsgStream& operator<<(std::ios_base& (*manip)(std::ios_base&)) {
    if (m_active) manip(m_os);
    return *this;
  }
  /// End the message (what `endmsg` does).
  MsgStream& flush() {
    if (m_active && m_sink) m_sink->push_back({m_level, m_os.str()});
    m_os.str("");
    m_os.clear();
    return *this;
  }
  std::ostringstream& stream() { return m_os; }

private:
  std::vector<k4ml::LogRecord>* m_sink;
  int m_level{MSG::INFO};
  bool m_active{true};
  std::ostringstream m_os;
};

inline MsgStream& endmsg(MsgStream& s) { return s.flush(); }
inline MsgStream& endreq(MsgStream& s) { return s.flush(); }
