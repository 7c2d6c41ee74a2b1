// k4mlinference's implementation of k4FWCore's functional algorithm kinds (our own code; the
// names and constructor shapes follow k4FWCore so its algorithms compile unchanged).
//
//   k4FWCore::Transformer<Out(const In&...)>                 inputs -> one output
//   k4FWCore::MultiTransformer<std::tuple<Out...>(const In&...)>   inputs -> several outputs
//   k4FWCore::Producer<Out()> / Producer<std::tuple<Out...>()>     no inputs
//   k4FWCore::Consumer<void(const In&...)>                    inputs -> nothing
//   k4FWCore::FilterPredicate<bool(const In&...)>             inputs -> pass/stop the event
//
// An input is a collection (`const edm4hep::XCollection&`, one name: KeyValue) or a runtime-length
// list (`const std::vector<const edm4hep::XCollection*>&`, several names: KeyValues); an output is a
// collection or a `std::vector` of collections. Constructors take (name, svcLoc, inputs, outputs),
// where each of inputs/outputs is a KeyValue, a KeyValues, or a braced list of them.
#pragma once

#include <array>
#include <initializer_list>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "Gaudi/Property.h"
#include "GaudiKernel/GaudiException.h"
#include "GaudiKernel/ISvcLocator.h"
#include "GaudiKernel/MsgStream.h"
#include "GaudiKernel/StatusCode.h"
#include "k4ml/functional.h"

namespace k4ml::detail {

/// One data slot as written in a constructor: KeyValue("Key", "Name") or KeyValues("Key", {"A", "B"}).
struct DataSpec {
  DataSpec(const AlgorithmBase::KeyValue& kv) : key(kv.first), names{kv.second} {}  // NOLINT: implicit on purpose
  DataSpec(const AlgorithmBase::KeyValues& kv) : key(kv.first), names(kv.second) {}  // NOLINT
  std::string key;
  std::vector<std::string> names;
};

/// The inputs (or outputs) argument of a constructor: one DataSpec, a braced list of them, or `{}`.
struct DataSpecs {
  DataSpecs() = default;
  DataSpecs(const AlgorithmBase::KeyValue& kv) : specs{DataSpec(kv)} {}   // NOLINT
  DataSpecs(const AlgorithmBase::KeyValues& kv) : specs{DataSpec(kv)} {}  // NOLINT
  DataSpecs(std::initializer_list<DataSpec> l) : specs(l) {}
  template <std::size_t N>
  DataSpecs(const std::array<AlgorithmBase::KeyValue, N>& a) : specs(a.begin(), a.end()) {}  // NOLINT
  template <std::size_t N>
  DataSpecs(const std::array<AlgorithmBase::KeyValues, N>& a) : specs(a.begin(), a.end()) {}  // NOLINT
  std::vector<DataSpec> specs;
};

/// A default-constructed collection's type name (collections know their podio type name).
template <typename C>
std::string typeNameOf() {
  static const std::string name = C{}.getTypeName();
  return name;
}

template <typename T>
struct IsVector : std::false_type {};
template <typename T, typename A>
struct IsVector<std::vector<T, A>> : std::true_type {};
template <typename T>
struct IsTuple : std::false_type {};
template <typename... T>
struct IsTuple<std::tuple<T...>> : std::true_type {};

/// How one input argument is made from the event store's collections.
template <typename T>
struct InputTraits {
  static constexpr bool multiple = false;
  static std::string type() { return typeNameOf<T>(); }
  static const T& get(const CollectionBase* const* c, std::size_t n, std::size_t slot) {
    if (n != 1) throw std::invalid_argument("input " + std::to_string(slot) + " takes one collection, got " + std::to_string(n));
    return cast(c[0], slot);
  }
  static const T& cast(const CollectionBase* c, std::size_t slot) {
    if (!c) throw std::invalid_argument("input " + std::to_string(slot) + " is null");
    const auto* p = dynamic_cast<const T*>(c);
    if (!p) throw std::invalid_argument("input " + std::to_string(slot) + " is a " + c->getTypeName() + ", expected " + type());
    return *p;
  }
};
template <typename C>
struct InputTraits<std::vector<const C*>> {
  static constexpr bool multiple = true;
  static std::string type() { return typeNameOf<C>(); }
  static std::vector<const C*> get(const CollectionBase* const* c, std::size_t n, std::size_t slot) {
    std::vector<const C*> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) out.push_back(&InputTraits<C>::cast(c[i], slot));
    return out;
  }
};

/// How one result is handed to the framework.
template <typename T>
struct OutputTraits {
  static constexpr bool multiple = false;
  static std::string type() { return typeNameOf<T>(); }
  static void put(T&& v, CallResult& r) {
    r.outputs.push_back(new T(std::move(v)));
    r.counts.push_back(1);
  }
};
template <typename C>
struct OutputTraits<std::vector<C>> {
  static constexpr bool multiple = true;
  static std::string type() { return typeNameOf<C>(); }
  static void put(std::vector<C>&& v, CallResult& r) {
    for (auto& c : v) r.outputs.push_back(new C(std::move(c)));
    r.counts.push_back(v.size());
  }
};

template <typename Traits>
DataSlot makeSlot(const DataSpec& spec) {
  DataSlot s;
  s.key = spec.key;
  s.locations = spec.names;
  s.type = Traits::type();
  s.multiple = Traits::multiple;
  if (!s.multiple && s.locations.size() != 1)
    throw std::invalid_argument("'" + s.key + "' takes exactly one collection name (use KeyValues with a std::vector input/output for several)");
  return s;
}

template <typename... In>
class WithInputs : public AlgorithmBase {
protected:
  WithInputs(const std::string& name, const DataSpecs& inputs) : AlgorithmBase(name) {
    if (inputs.specs.size() != sizeof...(In))
      throw std::invalid_argument(name + ": the algorithm has " + std::to_string(sizeof...(In)) + " inputs but the constructor names " +
                                  std::to_string(inputs.specs.size()));
    std::size_t i = 0;
    (addSlot(true, makeSlot<InputTraits<In>>(inputs.specs[i++])), ...);
  }
  template <typename... Out>
  void addOutputs(const DataSpecs& outputs) {
    if (outputs.specs.size() != sizeof...(Out))
      throw std::invalid_argument(name() + ": the algorithm has " + std::to_string(sizeof...(Out)) + " outputs but the constructor names " +
                                  std::to_string(outputs.specs.size()));
    std::size_t i = 0;
    (addSlot(false, makeSlot<OutputTraits<Out>>(outputs.specs[i++])), ...);
  }
  template <typename F>
  decltype(auto) applyInputs(F&& f, const std::vector<const CollectionBase*>& in, const std::vector<std::size_t>& counts) {
    return apply(std::forward<F>(f), in, counts, std::index_sequence_for<In...>{});
  }

private:
  template <typename F, std::size_t... I>
  decltype(auto) apply(F&& f, const std::vector<const CollectionBase*>& in, const std::vector<std::size_t>& counts,
                       std::index_sequence<I...>) {
    if (counts.size() != sizeof...(In))
      throw std::invalid_argument("expected " + std::to_string(sizeof...(In)) + " input slots, got " + std::to_string(counts.size()));
    std::array<std::size_t, sizeof...(In) + 1> off{};
    for (std::size_t k = 0; k < sizeof...(In); ++k) off[k + 1] = off[k] + counts[k];
    if (off.back() != in.size()) throw std::invalid_argument("input counts do not add up");
    const CollectionBase* const* base = in.data();
    (void)base;  // unused when there are no inputs
    return f(InputTraits<In>::get(base + off[I], counts[I], I)...);
  }
};

}  // namespace k4ml::detail

namespace k4FWCore {

template <typename Signature>
class Transformer;
template <typename Signature>
class MultiTransformer;
template <typename Signature>
class Producer;
template <typename Signature>
class Consumer;
template <typename Signature>
class FilterPredicate;

/// Inputs -> one output (a collection, or a std::vector of collections for KeyValues).
template <typename Out, typename... In>
class Transformer<Out(const In&...)> : public k4ml::detail::WithInputs<In...> {
public:
  using Specs = k4ml::detail::DataSpecs;
  Transformer(const std::string& name, ISvcLocator*, const Specs& inputs, const Specs& output)
      : k4ml::detail::WithInputs<In...>(name, inputs) {
    this->template addOutputs<Out>(output);
  }
  virtual Out operator()(const In&... in) const = 0;
  std::string kind() const override { return sizeof...(In) ? "Transformer" : "Producer"; }
  k4ml::CallResult callErased(const std::vector<const k4ml::CollectionBase*>& in, const std::vector<std::size_t>& counts) override {
    k4ml::CallResult r;
    k4ml::detail::OutputTraits<Out>::put(this->applyInputs([this](const auto&... a) { return (*this)(a...); }, in, counts), r);
    return r;
  }
};

/// Inputs -> several outputs, returned as a std::tuple.
template <typename... Out, typename... In>
class MultiTransformer<std::tuple<Out...>(const In&...)> : public k4ml::detail::WithInputs<In...> {
public:
  using Specs = k4ml::detail::DataSpecs;
  MultiTransformer(const std::string& name, ISvcLocator*, const Specs& inputs, const Specs& outputs)
      : k4ml::detail::WithInputs<In...>(name, inputs) {
    this->template addOutputs<Out...>(outputs);
  }
  virtual std::tuple<Out...> operator()(const In&... in) const = 0;
  std::string kind() const override { return "MultiTransformer"; }
  k4ml::CallResult callErased(const std::vector<const k4ml::CollectionBase*>& in, const std::vector<std::size_t>& counts) override {
    auto result = this->applyInputs([this](const auto&... a) { return (*this)(a...); }, in, counts);
    k4ml::CallResult r;
    std::apply([&r](auto&... o) { (k4ml::detail::OutputTraits<Out>::put(std::move(o), r), ...); }, result);
    return r;
  }
};

namespace detail {
template <typename Out>
using ProducerBase = std::conditional_t<k4ml::detail::IsTuple<Out>::value, MultiTransformer<Out()>, Transformer<Out()>>;
}

/// No inputs -> one output, or several when Out is a std::tuple.
template <typename Out>
class Producer<Out()> : public detail::ProducerBase<Out> {
public:
  using Specs = k4ml::detail::DataSpecs;
  Producer(const std::string& name, ISvcLocator* svc, const Specs& outputs)
      : detail::ProducerBase<Out>(name, svc, Specs{}, outputs) {}
  Producer(const std::string& name, ISvcLocator* svc, const Specs& inputs, const Specs& outputs)
      : detail::ProducerBase<Out>(name, svc, inputs, outputs) {}
};

/// Inputs -> nothing (checks, monitoring).
template <typename... In>
class Consumer<void(const In&...)> : public k4ml::detail::WithInputs<In...> {
public:
  using Specs = k4ml::detail::DataSpecs;
  Consumer(const std::string& name, ISvcLocator*, const Specs& inputs) : k4ml::detail::WithInputs<In...>(name, inputs) {}
  virtual void operator()(const In&... in) const = 0;
  std::string kind() const override { return "Consumer"; }
  k4ml::CallResult callErased(const std::vector<const k4ml::CollectionBase*>& in, const std::vector<std::size_t>& counts) override {
    this->applyInputs([this](const auto&... a) { (*this)(a...); }, in, counts);
    return {};
  }
};

/// Inputs -> bool: false stops the event for the algorithms after it and for the writer.
template <typename... In>
class FilterPredicate<bool(const In&...)> : public k4ml::detail::WithInputs<In...> {
public:
  using Specs = k4ml::detail::DataSpecs;
  FilterPredicate(const std::string& name, ISvcLocator*, const Specs& inputs) : k4ml::detail::WithInputs<In...>(name, inputs) {}
  virtual bool operator()(const In&... in) const = 0;
  std::string kind() const override { return "FilterPredicate"; }
  k4ml::CallResult callErased(const std::vector<const k4ml::CollectionBase*>& in, const std::vector<std::size_t>& counts) override {
    k4ml::CallResult r;
    r.passed = this->applyInputs([this](const auto&... a) { return (*this)(a...); }, in, counts);
    return r;
  }
};

}  // namespace k4FWCore
