// k4mlinference: Gaudi's EventContext, the event an algorithm is processing (our own minimal version).
//
// A k4FWCore algorithm may take `const EventContext&` as the first argument of its call operator; the
// framework passes the current event there. Events run one at a time per process here, so the slot is
// always 0; `evt()` is the event number (the same number `eventNumber()` returns), which stays unique
// and consecutive across the processes of a parallel run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>

class EventContext {
public:
  using ContextID_t = std::size_t;
  using ContextEvt_t = std::size_t;

  EventContext() = default;
  explicit EventContext(ContextEvt_t e, ContextID_t s = 0) : eventNumber(e), m_slot(s), m_valid(true) {}

  ContextEvt_t evt() const { return static_cast<ContextEvt_t>(eventNumber); }
  ContextID_t slot() const { return m_slot; }
  std::size_t subSlot() const { return 0; }
  bool usesSubSlot() const { return false; }
  bool valid() const { return m_valid; }
  void set(ContextEvt_t e, ContextID_t s = 0) {
    eventNumber = e;
    m_slot = s;
    m_valid = true;
  }
  void setEvt(ContextEvt_t e) {
    eventNumber = e;
    m_valid = true;
  }
  void setSlot(ContextID_t s) { m_slot = s; }

  std::uint64_t eventNumber{0};  ///< the framework's event number (evt())
  std::uint32_t runNumber{0};

private:
  ContextID_t m_slot{0};
  bool m_valid{false};
};

inline std::ostream& operator<<(std::ostream& os, const EventContext& ctx) {
  return os << "s: " << ctx.slot() << "  e: " << ctx.evt();
}
