// k4mlinference: the common counters of Gaudi's Gaudi/Accumulators.h (our own small version).
//
//   mutable Gaudi::Accumulators::Counter<> m_count{this, "Events"};          ++m_count; m_count += n;
//   mutable Gaudi::Accumulators::AveragingCounter<> m_hits{this, "Hits"};    m_hits += coll.size();
//   mutable Gaudi::Accumulators::StatCounter<> m_e{this, "Energy"};          m_e += energy;  (+ rms, min, max)
//   mutable Gaudi::Accumulators::BinomialCounter<> m_eff{this, "Passed"};    m_eff += passed;
//
// A counter registers itself with its algorithm and is printed (name, entries, sum, mean, ...) when the
// algorithm finalizes, as in Gaudi. Updates take a lock, so counters stay right if an algorithm is ever
// called from several threads. In a parallel run (--ncpus) each process prints its own counters.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <mutex>
#include <sstream>
#include <string>

#include "k4ml/functional.h"

namespace Gaudi::Accumulators {

enum class atomicity { none, full };

namespace detail {
/// Entries, sum, sum of squares, min and max of the values added (each counter shows what it needs).
template <typename Arithmetic>
class Stats {
public:
  void add(Arithmetic v) {
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_entries;
    m_sum += v;
    m_sum2 += static_cast<double>(v) * static_cast<double>(v);
    m_min = std::min(m_min, static_cast<double>(v));
    m_max = std::max(m_max, static_cast<double>(v));
  }
  void addEntries(unsigned long n, Arithmetic sum) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_entries += n;
    m_sum += sum;
  }
  unsigned long nEntries() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_entries;
  }
  Arithmetic sum() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_sum;
  }
  double sum2() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_sum2;
  }
  double mean() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_entries ? static_cast<double>(m_sum) / m_entries : 0.;
  }
  double variance() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (!m_entries) return 0.;
    const double m = static_cast<double>(m_sum) / m_entries;
    return std::max(0., m_sum2 / m_entries - m * m);
  }
  double standard_deviation() const { return std::sqrt(variance()); }
  double rms() const { return standard_deviation(); }
  double min() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_min;
  }
  double max() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_max;
  }
  void reset() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_entries = 0;
    m_sum = Arithmetic{};
    m_sum2 = 0.;
    m_min = std::numeric_limits<double>::max();
    m_max = std::numeric_limits<double>::lowest();
  }

private:
  mutable std::mutex m_mutex;
  unsigned long m_entries{0};
  Arithmetic m_sum{};
  double m_sum2{0.};
  double m_min{std::numeric_limits<double>::max()};
  double m_max{std::numeric_limits<double>::lowest()};
};

/// A counter that registers its summary with the owning algorithm.
template <typename Arithmetic>
class Registered : public Stats<Arithmetic> {
public:
  Registered(const Registered&) = delete;
  Registered& operator=(const Registered&) = delete;
  const std::string& name() const { return m_name; }

protected:
  template <typename F>
  Registered(k4ml::AlgorithmBase* owner, std::string name, F summary) : m_name(std::move(name)) {
    if (owner) owner->registerCounter(m_name, [this, summary] { return summary(*this); });
  }

private:
  std::string m_name;
};

inline std::string fmtNumber(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}
}  // namespace detail

/// Counts entries: `++c`, `c++`, `c += n` (n entries at once).
template <atomicity A = atomicity::full, typename Arithmetic = unsigned long>
class Counter : public detail::Registered<Arithmetic> {
public:
  Counter(k4ml::AlgorithmBase* owner, const std::string& name)
      : detail::Registered<Arithmetic>(owner, name, [](const detail::Stats<Arithmetic>& s) {
          return "entries " + std::to_string(s.nEntries());
        }) {}
  Counter& operator++() {
    this->addEntries(1, 1);
    return *this;
  }
  Counter& operator++(int) { return ++*this; }
  Counter& operator+=(Arithmetic n) {
    this->addEntries(static_cast<unsigned long>(n), n);
    return *this;
  }
  /// For a Counter, the sum is the number of entries.
  Arithmetic value() const { return this->sum(); }
};

/// Averages the values added (`c += v`): entries, sum, mean.
template <typename Arithmetic = double, atomicity A = atomicity::full>
class AveragingCounter : public detail::Registered<Arithmetic> {
public:
  AveragingCounter(k4ml::AlgorithmBase* owner, const std::string& name)
      : detail::Registered<Arithmetic>(owner, name, [](const detail::Stats<Arithmetic>& s) {
          return "entries " + std::to_string(s.nEntries()) + " | sum " + detail::fmtNumber(s.sum()) + " | mean " +
                 detail::fmtNumber(s.mean());
        }) {}
  AveragingCounter& operator+=(Arithmetic v) {
    this->add(v);
    return *this;
  }
};

/// Sums the values added (`c += v`).
template <typename Arithmetic = double, atomicity A = atomicity::full>
class SummingCounter : public detail::Registered<Arithmetic> {
public:
  SummingCounter(k4ml::AlgorithmBase* owner, const std::string& name)
      : detail::Registered<Arithmetic>(owner, name, [](const detail::Stats<Arithmetic>& s) {
          return "entries " + std::to_string(s.nEntries()) + " | sum " + detail::fmtNumber(s.sum());
        }) {}
  SummingCounter& operator+=(Arithmetic v) {
    this->add(v);
    return *this;
  }
};

/// Full statistics of the values added (`c += v`): entries, sum, mean, rms, min, max.
template <typename Arithmetic = double, atomicity A = atomicity::full>
class StatCounter : public detail::Registered<Arithmetic> {
public:
  StatCounter(k4ml::AlgorithmBase* owner, const std::string& name)
      : detail::Registered<Arithmetic>(owner, name, [](const detail::Stats<Arithmetic>& s) {
          return "entries " + std::to_string(s.nEntries()) + " | sum " + detail::fmtNumber(s.sum()) + " | mean " +
                 detail::fmtNumber(s.mean()) + " | rms " + detail::fmtNumber(s.rms()) + " | min " +
                 detail::fmtNumber(s.nEntries() ? s.min() : 0.) + " | max " + detail::fmtNumber(s.nEntries() ? s.max() : 0.);
        }) {}
  StatCounter& operator+=(Arithmetic v) {
    this->add(v);
    return *this;
  }
};
template <typename Arithmetic = double, atomicity A = atomicity::full>
using SigmaCounter = StatCounter<Arithmetic, A>;

/// Efficiency of a yes/no outcome (`c += passed`): entries, passed, efficiency.
template <typename Arithmetic = double, atomicity A = atomicity::full>
class BinomialCounter : public detail::Registered<Arithmetic> {
public:
  BinomialCounter(k4ml::AlgorithmBase* owner, const std::string& name)
      : detail::Registered<Arithmetic>(owner, name, [](const detail::Stats<Arithmetic>& s) {
          return "entries " + std::to_string(s.nEntries()) + " | passed " + detail::fmtNumber(s.sum()) + " | efficiency " +
                 detail::fmtNumber(s.mean());
        }) {}
  BinomialCounter& operator+=(bool passed) {
    this->add(passed ? Arithmetic{1} : Arithmetic{0});
    return *this;
  }
  unsigned long nTrueEntries() const { return static_cast<unsigned long>(this->sum()); }
  unsigned long nFalseEntries() const { return this->nEntries() - nTrueEntries(); }
  double efficiency() const { return this->mean(); }
};

}  // namespace Gaudi::Accumulators
