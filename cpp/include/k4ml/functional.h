// k4mlinference C++ functional algorithms: k4FWCore's shapes on k4mlinference's collections.
//
// A C++ algorithm is a struct deriving from one of
//   k4ml::Transformer<Out(const In&...)>, k4ml::Producer<Out()>
//   k4ml::MultiTransformer<std::tuple<Out...>(const In&...)>
//   k4ml::Consumer<void(const In&...)>
//   k4ml::FilterPredicate<bool(const In&...)>
// with a const call operator and properties declared as members:
//
//   struct Scale final : k4ml::Transformer<edm4hep::CalorimeterHitCollection(const edm4hep::CalorimeterHitCollection&)> {
//     Scale() : Transformer({KeyValue("InputCollection", "CaloHits")}, KeyValue("OutputCollection", "Scaled")) {}
//     edm4hep::CalorimeterHitCollection operator()(const edm4hep::CalorimeterHitCollection& in) const override;
//     k4ml::Property<double> factor{this, "Factor", 1.0, "energy scale"};
//   };
//   K4ML_ALGORITHM(Scale, "Scales calorimeter hit energies.")
//
// The base class publishes, without any per-algorithm glue, what the Python side needs to wrap the
// struct generically: the kind, input/output property names, default locations and collection type
// names, a property table (name, type, default, doc, setter from strings) and a type-erased call.
// Collections are passed by reference (no copy); results are moved to the heap and handed over.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "k4ml/podio_types.h"

namespace k4ml {

/// What the framework tells an algorithm about the current event.
struct EventContext {
  std::uint64_t eventNumber{0};
  std::uint32_t runNumber{0};
};

/// One row of an algorithm's property table.
struct PropertyInfo {
  std::string name;
  std::string type;  ///< int, float, bool, str, list[int], list[float], list[str]
  std::string doc;
  std::vector<std::string> defaultValue;
  std::function<void(const std::vector<std::string>&)> set;
  std::function<std::vector<std::string>()> get;
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

/// Result of one type-erased call: new collections (the caller owns them) and the filter decision.
struct CallResult {
  std::vector<CollectionBase*> outputs;
  bool passed{true};
  std::size_t size() const { return outputs.size(); }
  CollectionBase* output(std::size_t i) const { return outputs.at(i); }
  /// Address of the most-derived object of output i (for binding it from Python without casts).
  std::uintptr_t outputAddress(std::size_t i) const { return reinterpret_cast<std::uintptr_t>(dynamic_cast<void*>(outputs.at(i))); }
};

/// Type-erased interface of every C++ functional algorithm.
class AlgorithmBase {
public:
  using KeyValue = std::pair<std::string, std::string>;

  AlgorithmBase() = default;
  AlgorithmBase(const AlgorithmBase&) = delete;  // properties point back at their owner
  AlgorithmBase& operator=(const AlgorithmBase&) = delete;
  virtual ~AlgorithmBase() = default;

  virtual std::string kind() const = 0;
  virtual std::vector<std::string> inputTypes() const = 0;
  virtual std::vector<std::string> outputTypes() const = 0;
  const std::vector<KeyValue>& inputKeys() const { return m_inputs; }
  const std::vector<KeyValue>& outputKeys() const { return m_outputs; }

  virtual void initialize() {}
  virtual void finalize() {}

  /// Run one event. `in` holds one collection per input, in declaration order.
  virtual CallResult callErased(const std::vector<const CollectionBase*>& in) = 0;
  CallResult call0() { return callErased({}); }
  CallResult call1(const CollectionBase* a) { return callErased({a}); }
  CallResult call2(const CollectionBase* a, const CollectionBase* b) { return callErased({a, b}); }
  CallResult call3(const CollectionBase* a, const CollectionBase* b, const CollectionBase* c) {
    return callErased({a, b, c});
  }

  // property table
  std::size_t numProperties() const { return m_props.size(); }
  // accessors by index (plain types only: Python reads the table through these)
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
  std::vector<std::string> getProperty(const std::string& name) const { return const_cast<AlgorithmBase*>(this)->find(name).get(); }
  void registerProperty(PropertyInfo info) { m_props.push_back(std::move(info)); }

  const EventContext& context() const { return m_context; }
  std::uint64_t eventNumber() const { return m_context.eventNumber; }
  void setEventNumber(std::uint64_t n) { m_context.eventNumber = n; }
  void setRunNumber(std::uint32_t n) { m_context.runNumber = n; }

protected:
  std::vector<KeyValue> m_inputs;
  std::vector<KeyValue> m_outputs;

private:
  PropertyInfo& find(const std::string& name) {
    for (auto& p : m_props)
      if (p.name == name) return p;
    throw std::out_of_range("no property '" + name + "'");
  }
  std::vector<PropertyInfo> m_props;
  EventContext m_context;
};

/// A typed property registered in its algorithm's table: `k4ml::Property<double> f{this, "F", 1.0, "doc"};`
template <typename T>
class Property {
public:
  Property(AlgorithmBase* owner, std::string name, T value, std::string doc = "") : m_value(std::move(value)) {
    PropertyInfo info;
    info.name = std::move(name);
    info.type = detail::ValueIO<T>::type();
    info.doc = std::move(doc);
    info.defaultValue = detail::formatValue(m_value);
    info.set = [this](const std::vector<std::string>& s) { m_value = detail::ValueIO<T>::parse(s); };
    info.get = [this]() { return detail::formatValue(m_value); };
    owner->registerProperty(std::move(info));
  }
  Property(const Property&) = delete;
  Property& operator=(const Property&) = delete;
  const T& value() const { return m_value; }
  operator const T&() const { return m_value; }
  Property& operator=(const T& v) {
    m_value = v;
    return *this;
  }

private:
  T m_value;
};

namespace detail {
template <typename C>
const C& castOne(const CollectionBase* c, std::size_t i) {
  if (!c) throw std::invalid_argument("input " + std::to_string(i) + " is null");
  auto p = dynamic_cast<const C*>(c);
  if (!p)
    throw std::invalid_argument("input " + std::to_string(i) + " is a " + c->getTypeName() + ", expected " +
                                collectionTypeName<C>());
  return *p;
}

template <typename... In, typename F, std::size_t... I>
decltype(auto) applyInputs(F&& f, const std::vector<const CollectionBase*>& in, std::index_sequence<I...>) {
  if (in.size() != sizeof...(In))
    throw std::invalid_argument("expected " + std::to_string(sizeof...(In)) + " inputs, got " + std::to_string(in.size()));
  return f(castOne<In>(in[I], I)...);
}

template <typename T>
CollectionBase* release(T&& value) {
  return new std::decay_t<T>(std::move(value));
}
}  // namespace detail

/// Base of the kinds below: stores the input keys and the input type names.
template <typename... In>
class FunctionalBase : public AlgorithmBase {
public:
  std::vector<std::string> inputTypes() const override { return {detail::collectionTypeName<In>()...}; }

protected:
  explicit FunctionalBase(const std::array<KeyValue, sizeof...(In)>& inputs) {
    m_inputs.assign(inputs.begin(), inputs.end());
  }
  template <typename F>
  decltype(auto) applyTo(F&& f, const std::vector<const CollectionBase*>& in) {
    return detail::applyInputs<In...>(std::forward<F>(f), in, std::index_sequence_for<In...>{});
  }
};

template <typename Signature>
class Transformer;

/// Inputs -> one output collection. With no inputs it is a Producer.
template <typename Out, typename... In>
class Transformer<Out(const In&...)> : public FunctionalBase<In...> {
public:
  using KeyValue = AlgorithmBase::KeyValue;
  Transformer(const std::array<KeyValue, sizeof...(In)>& inputs, const KeyValue& output)
      : FunctionalBase<In...>(inputs) {
    this->m_outputs = {output};
  }
  virtual Out operator()(const In&... in) const = 0;
  std::string kind() const override { return sizeof...(In) ? "Transformer" : "Producer"; }
  std::vector<std::string> outputTypes() const override { return {detail::collectionTypeName<Out>()}; }
  CallResult callErased(const std::vector<const CollectionBase*>& in) override {
    CallResult r;
    r.outputs.push_back(detail::release(this->applyTo([this](const In&... a) { return (*this)(a...); }, in)));
    return r;
  }
};

template <typename Signature>
class Producer;

/// No inputs -> one output: `struct Gen : k4ml::Producer<XCollection()> { Gen() : Producer(KeyValue("OutputCollection", "X")) {} ... };`
template <typename Out>
class Producer<Out()> : public Transformer<Out()> {
public:
  using KeyValue = AlgorithmBase::KeyValue;
  explicit Producer(const KeyValue& output) : Transformer<Out()>({}, output) {}
  Producer(const std::array<KeyValue, 0>& inputs, const KeyValue& output) : Transformer<Out()>(inputs, output) {}
};

template <typename Signature>
class MultiTransformer;

/// Inputs -> a tuple of output collections.
template <typename... Out, typename... In>
class MultiTransformer<std::tuple<Out...>(const In&...)> : public FunctionalBase<In...> {
public:
  using KeyValue = AlgorithmBase::KeyValue;
  MultiTransformer(const std::array<KeyValue, sizeof...(In)>& inputs,
                   const std::array<KeyValue, sizeof...(Out)>& outputs)
      : FunctionalBase<In...>(inputs) {
    this->m_outputs.assign(outputs.begin(), outputs.end());
  }
  virtual std::tuple<Out...> operator()(const In&... in) const = 0;
  std::string kind() const override { return "MultiTransformer"; }
  std::vector<std::string> outputTypes() const override { return {detail::collectionTypeName<Out>()...}; }
  CallResult callErased(const std::vector<const CollectionBase*>& in) override {
    auto result = this->applyTo([this](const In&... a) { return (*this)(a...); }, in);
    CallResult r;
    std::apply([&r](auto&... o) { (r.outputs.push_back(detail::release(std::move(o))), ...); }, result);
    return r;
  }
};

template <typename Signature>
class Consumer;

/// Inputs -> nothing.
template <typename... In>
class Consumer<void(const In&...)> : public FunctionalBase<In...> {
public:
  using KeyValue = AlgorithmBase::KeyValue;
  explicit Consumer(const std::array<KeyValue, sizeof...(In)>& inputs) : FunctionalBase<In...>(inputs) {}
  virtual void operator()(const In&... in) const = 0;
  std::string kind() const override { return "Consumer"; }
  std::vector<std::string> outputTypes() const override { return {}; }
  CallResult callErased(const std::vector<const CollectionBase*>& in) override {
    this->applyTo([this](const In&... a) { (*this)(a...); }, in);
    return {};
  }
};

template <typename Signature>
class FilterPredicate;

/// Inputs -> bool; false stops the event.
template <typename... In>
class FilterPredicate<bool(const In&...)> : public FunctionalBase<In...> {
public:
  using KeyValue = AlgorithmBase::KeyValue;
  explicit FilterPredicate(const std::array<KeyValue, sizeof...(In)>& inputs) : FunctionalBase<In...>(inputs) {}
  virtual bool operator()(const In&... in) const = 0;
  std::string kind() const override { return "FilterPredicate"; }
  std::vector<std::string> outputTypes() const override { return {}; }
  CallResult callErased(const std::vector<const CollectionBase*>& in) override {
    CallResult r;
    r.passed = this->applyTo([this](const In&... a) { return (*this)(a...); }, in);
    return r;
  }
};

// ---------------------------------------------------------------- registry
struct AlgorithmEntry {
  std::string doc;
  std::function<AlgorithmBase*()> make;
};

inline std::map<std::string, AlgorithmEntry>& algorithmRegistry() {
  static std::map<std::string, AlgorithmEntry> registry;
  return registry;
}

inline bool registerAlgorithm(const std::string& name, const std::string& doc, std::function<AlgorithmBase*()> make) {
  algorithmRegistry()[name] = AlgorithmEntry{doc, std::move(make)};
  return true;
}

inline std::vector<std::string> algorithmNames() {
  std::vector<std::string> out;
  for (const auto& kv : algorithmRegistry()) out.push_back(kv.first);
  return out;
}

inline std::string algorithmDoc(const std::string& name) { return algorithmRegistry().at(name).doc; }

/// A new instance of a registered algorithm; the caller owns it.
inline AlgorithmBase* createAlgorithm(const std::string& name) {
  auto it = algorithmRegistry().find(name);
  if (it == algorithmRegistry().end()) throw std::out_of_range("no C++ algorithm '" + name + "'");
  return it->second.make();
}

/// Same as createAlgorithm, as an address of the AlgorithmBase (lets Python bind it to the base class
/// exactly, whatever the concrete struct is).
inline std::uintptr_t createAlgorithmAddress(const std::string& name) {
  return reinterpret_cast<std::uintptr_t>(createAlgorithm(name));
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

/// Register a C++ algorithm under its struct name with a doc string (shown by `k4run --list`).
/// The Python side also finds it by scanning headers for this macro, before compiling them.
#define K4ML_ALGORITHM(NAME, DOC)                                                                       \
  namespace k4ml_registration {                                                                         \
  inline const bool registered_##NAME = ::k4ml::registerAlgorithm(#NAME, DOC, []() -> ::k4ml::AlgorithmBase* { \
    return new NAME();                                                                                  \
  });                                                                                                   \
  }
