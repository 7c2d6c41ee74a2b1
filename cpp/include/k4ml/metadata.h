// k4mlinference: the run's metadata parameters as C++ algorithms see them (what k4FWCore keeps in its
// MetadataSvc). One store per process: the event loop fills it from the input file's `metadata` frame and
// the options' putMetadata before any algorithm is initialized, and after finalize reads back what the
// algorithms put, which goes into the output file's `metadata` frame.
//
// Values are kept the way podio's GenericParameters keep them: per type (int, float, double, string),
// always as a vector; a scalar is a vector of one.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace k4ml {

namespace detail {
template <typename T>
struct IsStdVector : std::false_type {};
template <typename T, typename A>
struct IsStdVector<std::vector<T, A>> : std::true_type {};

/// The element type a parameter of type T is stored as (void: not a parameter type).
template <typename T>
auto storedElement() {
  if constexpr (std::is_same_v<T, bool> || (std::is_integral_v<T> && sizeof(T) <= sizeof(int))) {
    return int{};
  } else if constexpr (std::is_same_v<T, float>) {
    return float{};
  } else if constexpr (std::is_same_v<T, double>) {
    return double{};
  } else if constexpr (std::is_convertible_v<const T&, std::string>) {
    return std::string{};
  } else {
    return;
  }
}
template <typename T>
using StoredElement = decltype(storedElement<T>());
}  // namespace detail

class MetadataStore {
public:
  template <typename E>
  std::map<std::string, std::vector<E>>& values() {
    if constexpr (std::is_same_v<E, int>) return m_ints;
    else if constexpr (std::is_same_v<E, float>) return m_floats;
    else if constexpr (std::is_same_v<E, double>) return m_doubles;
    else return m_strings;
  }
  template <typename E>
  const std::map<std::string, std::vector<E>>& values() const {
    return const_cast<MetadataStore*>(this)->values<E>();
  }

  /// podio::Frame-like: store `value` (a scalar or a std::vector of int, float, double, std::string).
  template <typename T>
  void putParameter(const std::string& name, const T& value) {
    if constexpr (detail::IsStdVector<T>::value) {
      using E = detail::StoredElement<typename T::value_type>;
      static_assert(!std::is_void_v<E>, "metadata parameters are int, float, double, std::string or vectors of them");
      values<E>()[name] = std::vector<E>(value.begin(), value.end());
    } else {
      using E = detail::StoredElement<T>;
      static_assert(!std::is_void_v<E>, "metadata parameters are int, float, double, std::string or vectors of them");
      values<E>()[name] = std::vector<E>{E(value)};
    }
    m_put.insert(name);
  }

  /// podio::Frame-like, but empty when absent: a scalar is the first stored value, a vector all of them.
  template <typename T>
  std::optional<T> getParameter(const std::string& name) const {
    if constexpr (detail::IsStdVector<T>::value) {
      using E = detail::StoredElement<typename T::value_type>;
      const auto& m = values<E>();
      const auto it = m.find(name);
      if (it == m.end()) return std::nullopt;
      return T(it->second.begin(), it->second.end());
    } else {
      using E = detail::StoredElement<T>;
      const auto& m = values<E>();
      const auto it = m.find(name);
      if (it == m.end() || it->second.empty()) return std::nullopt;
      return T(it->second.front());
    }
  }

  /// A value from the input or the options: not written back unless an algorithm puts it again.
  template <typename E>
  void seed(const std::string& name, std::vector<E> v) {
    values<E>()[name] = std::move(v);
  }

  /// Names put by algorithms during this run.
  const std::set<std::string>& putNames() const { return m_put; }

  void clear() {
    m_ints.clear();
    m_floats.clear();
    m_doubles.clear();
    m_strings.clear();
    m_put.clear();
  }

private:
  std::map<std::string, std::vector<int>> m_ints;
  std::map<std::string, std::vector<float>> m_floats;
  std::map<std::string, std::vector<double>> m_doubles;
  std::map<std::string, std::vector<std::string>> m_strings;
  std::set<std::string> m_put;
};

/// The process's store (one per loaded algorithm library; the event loop fills and reads each).
inline MetadataStore& metadata() {
  static MetadataStore store;
  return store;
}

namespace detail {
/// Types with their own metadata layout (edm4hep::utils::ParticleIDMeta) provide, found by ADL,
/// `k4mlPutMetadata(MetadataStore&, name, const T&)` and `k4mlGetMetadata(const MetadataStore&, name, T*)`.
template <typename T>
concept OwnMetadataLayout = requires(MetadataStore& s, const std::string& n, const T& v, T* tag) {
  k4mlPutMetadata(s, n, v);
  k4mlGetMetadata(static_cast<const MetadataStore&>(s), n, tag);
};
}  // namespace detail

template <typename T>
void putMetadata(const std::string& name, const T& value) {
  if constexpr (detail::OwnMetadataLayout<T>) {
    k4mlPutMetadata(metadata(), name, value);
  } else {
    metadata().putParameter(name, value);
  }
}

template <typename T>
std::optional<T> getMetadata(const std::string& name) {
  if constexpr (detail::OwnMetadataLayout<T>) {
    return k4mlGetMetadata(static_cast<const MetadataStore&>(metadata()), name, static_cast<T*>(nullptr));
  } else {
    return metadata().getParameter<T>(name);
  }
}

}  // namespace k4ml
