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
// list (`const std::vector<const edm4hep::XCollection*>&` or, keyed by collection name,
// `const std::map<std::string, const edm4hep::XCollection&>&`; several names: KeyValues); an output is
// a collection, a `std::vector` of collections or a `std::map<std::string, XCollection>` keyed by the
// configured names. The call operator may take `const EventContext&` first (the current event).
// Constructors take (name, svcLoc, inputs, outputs), where each of inputs/outputs is a KeyValue, a
// KeyValues, or a braced list of them.
#pragma once

// The standard headers below are also what Gaudi's and k4FWCore's own headers bring in, so that
// algorithms relying on them (std::map, std::set, std::mutex, std::stringstream, ...) compile unchanged.
#include <array>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "GaudiKernel/EventContext.h"

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
  static_assert(std::is_base_of_v<CollectionBase, T>,
                "k4mlinference: a functional algorithm's input must be a podio collection (const XCollection&), a "
                "std::vector<const XCollection*> or a std::map<std::string, const XCollection&>");
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
/// k4FWCore's runtime-length input keyed by collection name: `const std::map<std::string, const C&>&`
/// (older k4FWCore wrote `C&`; the collections are the event store's, never to be modified).
template <typename C, typename Ref>
struct MapInputTraits {
  static constexpr bool multiple = true;
  static std::string type() { return typeNameOf<C>(); }
  static std::map<std::string, Ref> get(const CollectionBase* const* c, std::size_t n, std::size_t slot,
                                        const std::vector<std::string>& names) {
    if (names.size() != n) throw std::invalid_argument("input " + std::to_string(slot) + ": names and collections differ in number");
    std::map<std::string, Ref> out;
    for (std::size_t i = 0; i < n; ++i) out.emplace(names[i], const_cast<C&>(InputTraits<C>::cast(c[i], slot)));
    return out;
  }
};
template <typename C>
struct InputTraits<std::map<std::string, const C&>> : MapInputTraits<C, const C&> {};
template <typename C>
struct InputTraits<std::map<std::string, C&>> : MapInputTraits<C, C&> {};

/// Input types whose value depends on the slot's collection names (maps keyed by name).
template <typename T>
struct NeedsNames : std::false_type {};
template <typename C>
struct NeedsNames<std::map<std::string, const C&>> : std::true_type {};
template <typename C>
struct NeedsNames<std::map<std::string, C&>> : std::true_type {};

/// How one result is handed to the framework.
template <typename T>
struct OutputTraits {
  static_assert(std::is_base_of_v<CollectionBase, T>,
                "k4mlinference: a functional algorithm's output must be a podio collection, a std::vector of "
                "collections or a std::map<std::string, XCollection> (other values, e.g. int, are not supported)");
  static constexpr bool multiple = false;
  static std::string type() { return typeNameOf<T>(); }
  static void put(T&& v, CallResult& r, const DataSlot&) {
    r.outputs.push_back(new T(std::move(v)));
    r.counts.push_back(1);
  }
};
template <typename C>
struct OutputTraits<std::vector<C>> {
  static constexpr bool multiple = true;
  static std::string type() { return typeNameOf<C>(); }
  static void put(std::vector<C>&& v, CallResult& r, const DataSlot&) {
    for (auto& c : v) r.outputs.push_back(new C(std::move(c)));
    r.counts.push_back(v.size());
  }
};
/// k4FWCore's runtime-length output as a map: as in k4FWCore, the map's collections, in the map's (key)
/// order, are stored under the configured names in their order, and their numbers must agree (an empty
/// configured name means none: `OutputCollections=[""]` takes an empty map).
template <typename C>
struct OutputTraits<std::map<std::string, C>> {
  static constexpr bool multiple = true;
  static std::string type() { return typeNameOf<C>(); }
  static void put(std::map<std::string, C>&& v, CallResult& r, const DataSlot& slot) {
    std::size_t expected = 0;
    for (const auto& n : slot.locations) expected += n.empty() ? 0 : 1;
    if (v.size() != expected)
      throw std::invalid_argument("output '" + slot.key + "': the returned map holds " + std::to_string(v.size()) +
                                  " collections but the options name " + std::to_string(expected));
    for (auto& kv : v) r.outputs.push_back(new C(std::move(kv.second)));
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

template <typename... T>
struct FirstIsContext : std::false_type {};
template <typename... T>
struct FirstIsContext<::EventContext, T...> : std::true_type {};

/// The data inputs of an algorithm whose call operator takes `const In&...`; an `EventContext` first
/// argument is not a data slot: it receives the current event.
template <typename... In>
class WithInputs : public AlgorithmBase {
protected:
  static constexpr std::size_t kContext = FirstIsContext<In...>::value ? 1 : 0;
  static constexpr std::size_t kData = sizeof...(In) - kContext;

  WithInputs(const std::string& name, const DataSpecs& inputs) : AlgorithmBase(name) {
    if (inputs.specs.size() != kData)
      throw std::invalid_argument(name + ": the algorithm has " + std::to_string(kData) + " inputs but the constructor names " +
                                  std::to_string(inputs.specs.size()));
    std::size_t i = 0;
    (addInput<In>(inputs, i), ...);
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
  template <typename T>
  void addInput(const DataSpecs& inputs, std::size_t& i) {
    if constexpr (!std::is_same_v<T, ::EventContext>) addSlot(true, makeSlot<InputTraits<T>>(inputs.specs[i++]));
  }
  /// Argument I of the call operator: the event context, or data slot I - kContext.
  template <std::size_t I, typename T>
  decltype(auto) arg(const CollectionBase* const* base, const std::array<std::size_t, kData + 1>& off,
                     const std::vector<std::size_t>& counts) {
    if constexpr (std::is_same_v<T, ::EventContext>) {
      return static_cast<const ::EventContext&>(context());
    } else {
      constexpr std::size_t slot = I - kContext;
      if constexpr (NeedsNames<T>::value) {
        return InputTraits<T>::get(base + off[slot], counts[slot], slot, input(slot).locations);
      } else {
        return InputTraits<T>::get(base + off[slot], counts[slot], slot);
      }
    }
  }
  template <typename F, std::size_t... I>
  decltype(auto) apply(F&& f, const std::vector<const CollectionBase*>& in, const std::vector<std::size_t>& counts,
                       std::index_sequence<I...>) {
    if (counts.size() != kData)
      throw std::invalid_argument("expected " + std::to_string(kData) + " input slots, got " + std::to_string(counts.size()));
    std::array<std::size_t, kData + 1> off{};
    for (std::size_t k = 0; k < kData; ++k) off[k + 1] = off[k] + counts[k];
    if (off.back() != in.size()) throw std::invalid_argument("input counts do not add up");
    const CollectionBase* const* base = in.data();
    (void)base;  // unused when there are no inputs
    return f(arg<I, In>(base, off, counts)...);
  }
};

}  // namespace k4ml::detail

namespace Gaudi {
/// Gaudi's algorithm base (`BaseClass_t<Gaudi::Algorithm>`): here every algorithm derives from AlgorithmBase.
using Algorithm = k4ml::AlgorithmBase;
}  // namespace Gaudi

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
    k4ml::detail::OutputTraits<Out>::put(this->applyInputs([this](const auto&... a) { return (*this)(a...); }, in, counts), r,
                                         this->output(0));
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
    std::size_t slot = 0;
    std::apply([this, &r, &slot](auto&... o) { (k4ml::detail::OutputTraits<Out>::put(std::move(o), r, this->output(slot++)), ...); },
               result);
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
