// k4mlinference C++ algorithms: the type-erased core the framework drives.
//
// C++ algorithms are written against k4FWCore's functional API (k4FWCore/Transformer.h & co. in
// this folder, our own implementation): `struct MyAlg final : k4FWCore::Transformer<Out(const In&)>`,
// constructor (name, svcLoc, KeyValues..., KeyValues...), `Gaudi::Property<T>` members, a const
// call operator, `info() << ... << endmsg` and `DECLARE_COMPONENT(MyAlg)`. Those templates derive
// from AlgorithmBase below, which publishes, without any per-algorithm glue, what the Python side
// needs: the kind, the data slots (property name, locations, collection type, runtime-length or
// not), a property table (name, type, default, doc, set/get from strings), messages, and one
// type-erased call. Collections are passed by reference (no copy); results are moved to the heap
// and handed over to Python, which owns them from then on.
//
// This header is the only one cling parses (to bind AlgorithmBase); algorithms themselves are
// compiled by the system compiler into a cached shared library (k4mlinference/framework/cpp.py).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "GaudiKernel/EventContext.h"
#include "GaudiKernel/IMessageSvc.h"
#include "GaudiKernel/ISvcLocator.h"
#include "GaudiKernel/MsgStream.h"
#include "GaudiKernel/StatusCode.h"
#include "k4ml/podio_types.h"

namespace k4ml {

/// What the framework tells an algorithm about the current event (Gaudi's EventContext).
using EventContext = ::EventContext;

/// One row of an algorithm's property table.
struct PropertyInfo {
  std::string name;
  std::string type;  ///< int, float, bool, str, list[int], list[float], list[str], list[bool]
  std::string doc;
  std::vector<std::string> defaultValue;
  std::function<void(const std::vector<std::string>&)> set;
  std::function<std::vector<std::string>()> get;
};

/// One input or output of an algorithm: k4FWCore's KeyValue (one collection) or KeyValues (a
/// runtime-length list; `multiple`).
struct DataSlot {
  std::string key;                     ///< the property name, e.g. "InputCollection"
  std::vector<std::string> locations;  ///< collection names in the event store
  std::string type;                    ///< collection type name, e.g. edm4hep::MCParticleCollection
  bool multiple{false};
};

namespace detail {
template <typename T>
struct PropertyTraits;

template <>
struct PropertyTraits<int> {
  static std::string name() { return "int"; }
  static int parse(const std::string& s) { return static_cast<int>(std::stoll(s, nullptr, 0)); }
  static std::string format(int v) { return std::to_string(v); }
};
template <>
struct PropertyTraits<long> {
  static std::string name() { return "int"; }
  static long parse(const std::string& s) { return std::stol(s, nullptr, 0); }
  static std::string format(long v) { return std::to_string(v); }
};
template <>
struct PropertyTraits<unsigned long> {
  static std::string name() { return "int"; }
  static unsigned long parse(const std::string& s) { return std::stoul(s, nullptr, 0); }
  static std::string format(unsigned long v) { return std::to_string(v); }
};
template <>
struct PropertyTraits<unsigned int> {
  static std::string name() { return "int"; }
  static unsigned int parse(const std::string& s) { return static_cast<unsigned int>(std::stoul(s, nullptr, 0)); }
  static std::string format(unsigned int v) { return std::to_string(v); }
};
template <>
struct PropertyTraits<double> {
  static std::string name() { return "float"; }
  static double parse(const std::string& s) { return std::stod(s); }
  static std::string format(double v) {
    std::ostringstream os;
    os.precision(17);
    os << v;
    return os.str();
  }
};
template <>
struct PropertyTraits<float> {
  static std::string name() { return "float"; }
  static float parse(const std::string& s) { return std::stof(s); }
  static std::string format(float v) { return PropertyTraits<double>::format(v); }
};
template <>
struct PropertyTraits<bool> {
  static std::string name() { return "bool"; }
  static bool parse(const std::string& s) {
    if (s == "1" || s == "true" || s == "True") return true;
    if (s == "0" || s == "false" || s == "False") return false;
    throw std::invalid_argument("not a bool: '" + s + "'");
  }
  static std::string format(bool v) { return v ? "true" : "false"; }
};
template <>
struct PropertyTraits<std::string> {
  static std::string name() { return "str"; }
  static std::string parse(const std::string& s) { return s; }
  static std::string format(const std::string& v) { return v; }
};

template <typename T>
std::vector<std::string> formatValue(const T& v) {
  return {PropertyTraits<T>::format(v)};
}
template <typename T>
std::vector<std::string> formatValue(const std::vector<T>& v) {
  std::vector<std::string> out;
  for (const auto& x : v) out.push_back(PropertyTraits<T>::format(x));
  return out;
}
template <typename T>
struct ValueIO {
  static std::string type() { return PropertyTraits<T>::name(); }
  static T parse(const std::vector<std::string>& s) {
    if (s.size() != 1) throw std::invalid_argument("expects one value");
    return PropertyTraits<T>::parse(s[0]);
  }
};
template <typename T>
struct ValueIO<std::vector<T>> {
  static std::string type() { return "list[" + PropertyTraits<T>::name() + "]"; }
  static std::vector<T> parse(const std::vector<std::string>& s) {
    std::vector<T> out;
    for (const auto& x : s) out.push_back(PropertyTraits<T>::parse(x));
    return out;
  }
};

/// A default-constructed collection's type name (collections know their podio type name).
template <typename C>
std::string collectionTypeName() {
  static const std::string name = C{}.getTypeName();
  return name;
}
}  // namespace detail

/// Result of one type-erased call: new collections (the caller owns them), how many belong to each
/// output slot, and the filter decision.
struct CallResult {
  std::vector<CollectionBase*> outputs;
  std::vector<std::size_t> counts;
  bool passed{true};
  std::size_t size() const { return outputs.size(); }
  std::size_t count(std::size_t slot) const { return counts.at(slot); }
  /// Address of the most-derived object of output i (for binding it from Python without casts).
  std::uintptr_t outputAddress(std::size_t i) const {
    return reinterpret_cast<std::uintptr_t>(dynamic_cast<void*>(outputs.at(i)));
  }
};

/// Type-erased interface of every C++ algorithm.
class AlgorithmBase {
public:
  using KeyValue = std::pair<std::string, std::string>;
  using KeyValues = std::pair<std::string, std::vector<std::string>>;

  explicit AlgorithmBase(std::string name = "") : m_name(std::move(name)), m_msg(&m_records) {}
  AlgorithmBase(const AlgorithmBase&) = delete;  // properties point back at their owner
  AlgorithmBase& operator=(const AlgorithmBase&) = delete;
  virtual ~AlgorithmBase() = default;

  const std::string& name() const { return m_name; }
  void setName(const std::string& name) { m_name = name; }
  virtual std::string kind() const = 0;

  // data slots
  std::size_t numInputs() const { return m_inputs.size(); }
  std::size_t numOutputs() const { return m_outputs.size(); }
  const DataSlot& input(std::size_t i) const { return m_inputs.at(i); }
  const DataSlot& output(std::size_t i) const { return m_outputs.at(i); }
  void setInputLocations(std::size_t i, const std::vector<std::string>& names) { m_inputs.at(i).locations = names; }
  void setOutputLocations(std::size_t i, const std::vector<std::string>& names) { m_outputs.at(i).locations = names; }
  /// k4FWCore's accessors: the configured collection names of input/output slot i (or by property name).
  const std::vector<std::string>& inputLocations(std::size_t i = 0) const { return m_inputs.at(i).locations; }
  const std::vector<std::string>& outputLocations(std::size_t i = 0) const { return m_outputs.at(i).locations; }
  const std::vector<std::string>& inputLocations(const std::string& key) const { return slot(m_inputs, key).locations; }
  const std::vector<std::string>& outputLocations(const std::string& key) const { return slot(m_outputs, key).locations; }

  virtual StatusCode initialize() { return StatusCode::SUCCESS; }
  virtual StatusCode finalize() { return StatusCode::SUCCESS; }

  /// Run one event. `in` holds the input collections slot after slot, `counts` how many per slot.
  virtual CallResult callErased(const std::vector<const CollectionBase*>& in, const std::vector<std::size_t>& counts) = 0;
  CallResult call0() { return callErased({}, {}); }
  CallResult call1(const CollectionBase* a) { return callErased({a}, {1}); }
  CallResult call2(const CollectionBase* a, const CollectionBase* b) { return callErased({a, b}, {1, 1}); }
  CallResult call3(const CollectionBase* a, const CollectionBase* b, const CollectionBase* c) {
    return callErased({a, b, c}, {1, 1, 1});
  }

  // property table (plain types only: Python reads it through these)
  std::size_t numProperties() const { return m_props.size(); }
  std::string propertyName(std::size_t i) const { return m_props.at(i).name; }
  std::string propertyType(std::size_t i) const { return m_props.at(i).type; }
  std::string propertyDoc(std::size_t i) const { return m_props.at(i).doc; }
  std::vector<std::string> propertyDefault(std::size_t i) const { return m_props.at(i).defaultValue; }
  void setProperty(const std::string& name, const std::vector<std::string>& values) {
    auto& p = find(name);
    try {
      p.set(values);
    } catch (const std::exception& e) {
      throw std::invalid_argument("property '" + name + "' (" + p.type + "): " + e.what());
    }
  }
  std::vector<std::string> getProperty(const std::string& name) const {
    return const_cast<AlgorithmBase*>(this)->find(name).get();
  }
  void registerProperty(PropertyInfo info) {
    for (auto& p : m_props)
      if (p.name == info.name) throw std::invalid_argument("property '" + info.name + "' declared twice");
    m_props.push_back(std::move(info));
  }

  // event
  const EventContext& context() const { return m_context; }
  std::uint64_t eventNumber() const { return m_context.eventNumber; }
  void setEventNumber(std::uint64_t n) { m_context.setEvt(n); }
  void setRunNumber(std::uint32_t n) { m_context.runNumber = n; }

  // messages (Gaudi's MsgStream interface; the framework prints them)
  void setOutputLevel(int level) { m_outputLevel = level; }
  int outputLevel() const { return m_outputLevel; }
  bool msgLevel(int level) const { return level >= m_outputLevel; }
  MsgStream& msgStream(int level) const { return m_msg.setLevel(level, m_outputLevel); }
  MsgStream& always() const { return msgStream(MSG::ALWAYS); }
  MsgStream& fatal() const { return msgStream(MSG::FATAL); }
  MsgStream& error() const { return msgStream(MSG::ERROR); }
  MsgStream& warning() const { return msgStream(MSG::WARNING); }
  MsgStream& info() const { return msgStream(MSG::INFO); }
  MsgStream& debug() const { return msgStream(MSG::DEBUG); }
  MsgStream& verbose() const { return msgStream(MSG::VERBOSE); }
  bool hasMessages() const { return !m_records.empty(); }

  // counters (Gaudi::Accumulators): each registers one line, printed after finalize
  /// Register a counter's summary line (`name`, and a function giving its statistics as text).
  void registerCounter(std::string name, std::function<std::string()> summary) {
    m_counters.emplace_back(std::move(name), std::move(summary));
  }
  /// Print the counters as info messages (what Gaudi prints at finalize); nothing when there are none.
  void printCounters() const {
    if (m_counters.empty()) return;
    info() << "Number of counters : " << m_counters.size() << endmsg;
    for (const auto& [n, summary] : m_counters) info() << " | \"" << n << "\" | " << summary() << endmsg;
  }
  /// The messages since the last call, oldest first (the framework prints them).
  std::vector<LogRecord> takeMessages() {
    std::vector<LogRecord> out;
    out.swap(m_records);
    return out;
  }

protected:
  void addSlot(bool isInput, DataSlot s) { (isInput ? m_inputs : m_outputs).push_back(std::move(s)); }

private:
  static const DataSlot& slot(const std::vector<DataSlot>& v, const std::string& key) {
    for (const auto& s : v)
      if (s.key == key) return s;
    throw std::out_of_range("no data slot '" + key + "'");
  }
  PropertyInfo& find(const std::string& name) {
    for (auto& p : m_props)
      if (p.name == name) return p;
    throw std::out_of_range("no property '" + name + "'");
  }
  std::string m_name;
  std::vector<DataSlot> m_inputs;
  std::vector<DataSlot> m_outputs;
  std::vector<PropertyInfo> m_props;
  EventContext m_context;
  int m_outputLevel{MSG::INFO};
  std::vector<std::pair<std::string, std::function<std::string()>>> m_counters;
  mutable std::vector<LogRecord> m_records;
  mutable MsgStream m_msg;
};

/// A typed property registered in its algorithm's table (Gaudi::Property is this class):
/// `Gaudi::Property<double> m_f{this, "F", 1.0, "doc"};`
template <typename T>
class Property {
public:
  using ValueType = T;
  Property(AlgorithmBase* owner, std::string name, T value, std::string doc = "")
      : m_value(std::move(value)), m_name(std::move(name)), m_doc(std::move(doc)) {
    PropertyInfo info;
    info.name = m_name;
    info.type = detail::ValueIO<T>::type();
    info.doc = m_doc;
    info.defaultValue = detail::formatValue(m_value);
    info.set = [this](const std::vector<std::string>& s) { m_value = detail::ValueIO<T>::parse(s); };
    info.get = [this]() { return detail::formatValue(m_value); };
    owner->registerProperty(std::move(info));
  }
  Property(const Property&) = delete;
  Property& operator=(const Property&) = delete;
  const T& value() const { return m_value; }
  T& value() { return m_value; }
  operator const T&() const { return m_value; }
  const std::string& name() const { return m_name; }
  const std::string& documentation() const { return m_doc; }
  Property& operator=(const T& v) {
    m_value = v;
    return *this;
  }
  const T* operator->() const { return &m_value; }
  // container conveniences, as Gaudi's properties of vectors and strings have
  auto size() const { return m_value.size(); }
  bool empty() const { return m_value.empty(); }
  auto begin() const { return m_value.begin(); }
  auto end() const { return m_value.end(); }
  decltype(auto) operator[](std::size_t i) const { return m_value[i]; }
  // comparisons with a value, either way round (`name != m_prop`), as Gaudi's properties compare
  friend bool operator==(const Property& p, const T& v) { return p.m_value == v; }

private:
  T m_value;
  std::string m_name;
  std::string m_doc;
};

template <typename T>
std::ostream& operator<<(std::ostream& os, const Property<T>& p) {
  for (const auto& s : detail::formatValue(p.value())) os << s << ' ';
  return os;
}

/// Collections print as their type and size (`info() << coll << endmsg`).
inline std::ostream& operator<<(std::ostream& os, const CollectionBase& c) {
  return os << c.getTypeName() << " with " << c.size() << " elements";
}

// ---------------------------------------------------------------- component registry
/// Makes one algorithm instance with the given instance name; the caller owns it.
using ComponentFactory = AlgorithmBase* (*)(const std::string& name);

inline std::map<std::string, ComponentFactory>& componentRegistry() {
  static std::map<std::string, ComponentFactory> registry;
  return registry;
}

inline bool registerComponent(const std::string& type, ComponentFactory make) {
  componentRegistry()[type] = make;
  return true;
}

// ---------------------------------------------------------------- helpers for algorithms
/// splitmix64: a tiny, platform-independent hash for reproducible per-event/per-cell random numbers.
inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// Counter-based random numbers: the same (seed, keys) always give the same sequence.
class KeyedRandom {
public:
  KeyedRandom(std::uint64_t seed, std::uint64_t key1, std::uint64_t key2 = 0)
      : m_state(splitmix64(splitmix64(splitmix64(seed) ^ key1) ^ key2)) {}
  /// Uniform in (0, 1).
  double uniform() {
    m_state = splitmix64(m_state);
    return ((m_state >> 11) + 0.5) * (1.0 / 9007199254740992.0);
  }
  /// Standard normal (Box-Muller, no cached second value so that results depend only on the keys).
  double gauss() {
    const double u1 = uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

private:
  std::uint64_t m_state;
};

}  // namespace k4ml

// DECLARE_COMPONENT(Type): make `Type` available to k4run under its name (Gaudi's macro).
#define K4ML_CONCAT_IMPL(a, b) a##b
#define K4ML_CONCAT(a, b) K4ML_CONCAT_IMPL(a, b)
#define DECLARE_COMPONENT_WITH_ID(TYPE, ID)                                                               \
  namespace {                                                                                             \
  const bool K4ML_CONCAT(k4ml_component_, __LINE__) = ::k4ml::registerComponent(                         \
      ID, [](const std::string& n) -> ::k4ml::AlgorithmBase* { return new TYPE(n, ::k4ml::serviceLocator()); }); \
  }
#define DECLARE_COMPONENT(TYPE) DECLARE_COMPONENT_WITH_ID(TYPE, #TYPE)
