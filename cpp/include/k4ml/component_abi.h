// k4mlinference: the plain C interface through which Python drives compiled C++ algorithms.
//
// Included once per compiled algorithm library, after defining K4ML_ABI(name) to give every entry
// point a library-unique name. Python (k4mlinference/framework/cpp.py) calls these with ctypes, so
// starting a run needs no C++ parsing by cling: the algorithm library is only loaded. Lists of
// strings cross as one text with fields separated by '\x1f' (unit separator); errors are returned
// as -1 with the message in K4ML_ABI(error)().
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <type_traits>
#include <exception>
#include <string>
#include <vector>

#include "k4ml/functional.h"
#include "k4ml/metadata.h"

namespace k4ml::abi {

inline std::string& text() {
  static thread_local std::string t;
  return t;
}
inline std::string& lastError() {
  static thread_local std::string e;
  return e;
}
inline AlgorithmBase* alg(void* p) { return static_cast<AlgorithmBase*>(p); }

inline std::vector<std::string> split(const char* s, std::size_t n) {
  std::vector<std::string> out;
  if (n == 0) return out;
  std::string cur;
  for (const char* c = s; *c; ++c) {
    if (*c == '\x1f') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += *c;
    }
  }
  out.push_back(cur);
  return out;
}

inline std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "\x1f" : "") + v[i];
  return out;
}

inline std::string json(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      const char* hex = "0123456789abcdef";
      out += "\\u00";
      out += hex[(c >> 4) & 0xf];
      out += hex[c & 0xf];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

inline std::string json(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + json(v[i]);
  return out + "]";
}

inline std::string jsonSlot(const DataSlot& s) {
  return "{\"key\":" + json(s.key) + ",\"locations\":" + json(s.locations) + ",\"type\":" + json(s.type) +
         ",\"multiple\":" + (s.multiple ? "true" : "false") + "}";
}

/// Kind, data slots and property table of an instance, as JSON.
inline std::string describe(const AlgorithmBase& a) {
  std::string out = "{\"kind\":" + json(a.kind()) + ",\"inputs\":[";
  for (std::size_t i = 0; i < a.numInputs(); ++i) out += (i ? "," : "") + jsonSlot(a.input(i));
  out += "],\"outputs\":[";
  for (std::size_t i = 0; i < a.numOutputs(); ++i) out += (i ? "," : "") + jsonSlot(a.output(i));
  out += "],\"properties\":[";
  for (std::size_t i = 0; i < a.numProperties(); ++i)
    out += std::string(i ? "," : "") + "{\"name\":" + json(a.propertyName(i)) + ",\"type\":" + json(a.propertyType(i)) +
           ",\"doc\":" + json(a.propertyDoc(i)) + ",\"default\":" + json(a.propertyDefault(i)) + "}";
  return out + "]}";
}

/// Run `f`, turning a C++ exception into -1 and its message.
template <typename F>
long guarded(F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    lastError() = e.what();
  } catch (...) {
    lastError() = "unknown C++ exception";
  }
  return -1;
}

template <typename E>
std::string jsonValues(const std::vector<E>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    out += i ? "," : "";
    if constexpr (std::is_same_v<E, std::string>) {
      out += json(v[i]);
    } else if constexpr (std::is_same_v<E, int>) {
      out += std::to_string(v[i]);
    } else {
      char buf[40];  // enough digits to read back exactly; non-finite values as strings Python parses
      std::snprintf(buf, sizeof buf, std::is_same_v<E, float> ? "%.9g" : "%.17g", static_cast<double>(v[i]));
      const std::string t = buf;
      out += (t.find_first_of("0123456789") == std::string::npos) ? json(t) : t;
    }
  }
  return out + "]";
}

/// The parameters algorithms put in this run: {"name": ["int"|"float"|"double"|"string", [values]], ...}.
inline std::string metadataJson() {
  const MetadataStore& store = metadata();
  std::string out = "{";
  bool first = true;
  auto add = [&](const char* type, const auto& m) {
    for (const auto& [name, v] : m) {
      if (!store.putNames().count(name)) continue;
      out += (first ? "" : ",") + json(name) + ":[" + json(std::string(type)) + "," + jsonValues(v) + "]";
      first = false;
    }
  };
  add("int", store.values<int>());
  add("float", store.values<float>());
  add("double", store.values<double>());
  add("string", store.values<std::string>());
  return out + "}";
}

}  // namespace k4ml::abi

extern "C" {

const char* K4ML_ABI(components)() {
  std::string& t = k4ml::abi::text();
  t.clear();
  for (const auto& kv : k4ml::componentRegistry()) t += kv.first + "\x1f";
  return t.c_str();
}

void* K4ML_ABI(create)(const char* type, const char* name) {
  try {
    auto it = k4ml::componentRegistry().find(type);
    if (it == k4ml::componentRegistry().end()) {
      k4ml::abi::lastError() = std::string("no C++ component '") + type + "'";
      return nullptr;
    }
    return it->second(name);
  } catch (const std::exception& e) {
    k4ml::abi::lastError() = std::string("constructor failed: ") + e.what();
  }
  return nullptr;
}

void K4ML_ABI(destroy)(void* a) { delete k4ml::abi::alg(a); }

const char* K4ML_ABI(error)() { return k4ml::abi::lastError().c_str(); }

const char* K4ML_ABI(describe)(void* a) {
  k4ml::abi::text() = k4ml::abi::describe(*k4ml::abi::alg(a));
  return k4ml::abi::text().c_str();
}

long K4ML_ABI(set_property)(void* a, const char* name, const char* values, std::size_t n) {
  return k4ml::abi::guarded([&] {
    k4ml::abi::alg(a)->setProperty(name, k4ml::abi::split(values, n));
    return 0L;
  });
}

const char* K4ML_ABI(get_property)(void* a, const char* name) {
  const long ok = k4ml::abi::guarded([&] {
    k4ml::abi::text() = k4ml::abi::join(k4ml::abi::alg(a)->getProperty(name));
    return 0L;
  });
  return ok < 0 ? nullptr : k4ml::abi::text().c_str();
}

void K4ML_ABI(configure)(void* a, const char* name, int outputLevel) {
  k4ml::abi::alg(a)->setName(name);
  k4ml::abi::alg(a)->setOutputLevel(outputLevel);
}

long K4ML_ABI(set_locations)(void* a, int input, std::size_t slot, const char* names, std::size_t n) {
  return k4ml::abi::guarded([&] {
    auto v = k4ml::abi::split(names, n);
    input ? k4ml::abi::alg(a)->setInputLocations(slot, v) : k4ml::abi::alg(a)->setOutputLocations(slot, v);
    return 0L;
  });
}

/// 1: success, 0: a failure StatusCode, -1: an exception.
long K4ML_ABI(initialize)(void* a) {
  return k4ml::abi::guarded([&] { return k4ml::abi::alg(a)->initialize().isSuccess() ? 1L : 0L; });
}

long K4ML_ABI(finalize)(void* a) {
  return k4ml::abi::guarded([&] {
    auto* algorithm = k4ml::abi::alg(a);
    const bool ok = algorithm->finalize().isSuccess();
    algorithm->printCounters();  // Gaudi prints its counters when an algorithm finalizes
    return ok ? 1L : 0L;
  });
}

/// One event: `in` holds the input collections slot after slot (`counts` per slot). The new output
/// collections (most-derived addresses, owned by the caller) go to `out` (room for `capacity`),
/// their number per slot to `outCounts`; flags[0] = filter decision, flags[1] = messages waiting.
/// Returns the number of outputs, or -1 on an exception (nothing is leaked).
long K4ML_ABI(call)(void* a, std::uint64_t event, const void* const* in, const std::size_t* counts, std::size_t nslots,
                    void** out, std::size_t* outCounts, std::size_t capacity, int* flags) {
  auto* algorithm = k4ml::abi::alg(a);
  const long n = k4ml::abi::guarded([&] {
    algorithm->setEventNumber(event);
    std::size_t total = 0;
    for (std::size_t i = 0; i < nslots; ++i) total += counts[i];
    std::vector<const k4ml::CollectionBase*> inputs(total);
    for (std::size_t i = 0; i < total; ++i) inputs[i] = static_cast<const k4ml::CollectionBase*>(in[i]);
    k4ml::CallResult r = algorithm->callErased(inputs, std::vector<std::size_t>(counts, counts + nslots));
    if (r.outputs.size() > capacity) {
      for (auto* c : r.outputs) delete c;
      throw std::length_error("returned " + std::to_string(r.outputs.size()) + " collections for " +
                              std::to_string(capacity) + " configured output names");
    }
    for (std::size_t i = 0; i < r.outputs.size(); ++i) out[i] = dynamic_cast<void*>(r.outputs[i]);
    for (std::size_t i = 0; i < r.counts.size(); ++i) outCounts[i] = r.counts[i];
    flags[0] = r.passed ? 1 : 0;
    return static_cast<long>(r.outputs.size());
  });
  flags[1] = algorithm->hasMessages() ? 1 : 0;
  return n;
}

/// A block of events in one call (what the event loop uses: one crossing per block, not per event).
/// Event e's inputs are in[e * perEvent ...] with perEvent = sum(counts), the same layout as `call`;
/// its outputs go to out[e * capacity ...], their number per slot to outCounts[e * nOutSlots ...], its
/// filter decision to passed[e]. flags[1] = messages waiting. Returns the number of events; on an
/// exception in event e: -1, *failed = e, and the outputs of the events before e are deleted (nothing
/// is leaked, nothing half-done is handed over).
long K4ML_ABI(call_batch)(void* a, const std::uint64_t* events, std::size_t nevents, const void* const* in,
                          const std::size_t* counts, std::size_t nslots, void** out, std::size_t* outCounts,
                          std::size_t nOutSlots, std::size_t capacity, int* passed, int* flags, std::size_t* failed) {
  auto* algorithm = k4ml::abi::alg(a);
  std::size_t done = 0;
  std::vector<k4ml::CollectionBase*> made;  // handed over only if the whole block succeeds
  const long n = k4ml::abi::guarded([&] {
    std::size_t perEvent = 0;
    for (std::size_t i = 0; i < nslots; ++i) perEvent += counts[i];
    const std::vector<std::size_t> slotCounts(counts, counts + nslots);
    std::vector<const k4ml::CollectionBase*> inputs(perEvent);
    for (; done < nevents; ++done) {
      algorithm->setEventNumber(events[done]);
      const void* const* evIn = in + done * perEvent;
      for (std::size_t i = 0; i < perEvent; ++i) inputs[i] = static_cast<const k4ml::CollectionBase*>(evIn[i]);
      k4ml::CallResult r = algorithm->callErased(inputs, slotCounts);
      if (r.outputs.size() > capacity || r.counts.size() > nOutSlots) {
        for (auto* c : r.outputs) delete c;
        throw std::length_error("returned " + std::to_string(r.outputs.size()) + " collections for " +
                                std::to_string(capacity) + " configured output names");
      }
      void** evOut = out + done * capacity;
      std::size_t* evCounts = outCounts + done * nOutSlots;
      made.insert(made.end(), r.outputs.begin(), r.outputs.end());
      for (std::size_t i = 0; i < r.outputs.size(); ++i) evOut[i] = dynamic_cast<void*>(r.outputs[i]);
      for (std::size_t i = 0; i < r.counts.size(); ++i) evCounts[i] = r.counts[i];
      passed[done] = r.passed ? 1 : 0;
    }
    return static_cast<long>(nevents);
  });
  if (n < 0) {
    *failed = done;
    for (auto* c : made) delete c;  // the outputs of the events before belong to no one yet
  }
  flags[1] = algorithm->hasMessages() ? 1 : 0;
  return n;
}

/// The messages waiting, as "level\x1ftext\x1f..." (and cleared).
const char* K4ML_ABI(messages)(void* a) {
  std::vector<std::string> parts;
  for (const auto& rec : k4ml::abi::alg(a)->takeMessages()) {
    parts.push_back(std::to_string(rec.level));
    parts.push_back(rec.text);
  }
  k4ml::abi::text() = k4ml::abi::join(parts);
  return k4ml::abi::text().c_str();
}

long K4ML_ABI(has_messages)(void* a) { return k4ml::abi::alg(a)->hasMessages() ? 1 : 0; }

/// Metadata (k4ml/metadata.h): emptied before a run, seeded from the input file's `metadata` frame and the
/// options (type 'i', 'f', 'd' or 's'; `n` values joined by '\x1f'), read back after finalize.
void K4ML_ABI(metadata_clear)() { k4ml::metadata().clear(); }

long K4ML_ABI(metadata_seed)(const char* name, char type, const char* values, std::size_t n) {
  return k4ml::abi::guarded([&] {
    auto v = k4ml::abi::split(values, n);
    auto& store = k4ml::metadata();
    if (type == 's') {
      store.seed<std::string>(name, v);
    } else if (type == 'i') {
      std::vector<int> x;
      for (const auto& s : v) x.push_back(std::stoi(s));
      store.seed<int>(name, x);
    } else if (type == 'f') {
      std::vector<float> x;
      for (const auto& s : v) x.push_back(std::stof(s));
      store.seed<float>(name, x);
    } else {
      std::vector<double> x;
      for (const auto& s : v) x.push_back(std::stod(s));
      store.seed<double>(name, x);
    }
    return 0L;
  });
}

const char* K4ML_ABI(metadata_take)() {
  k4ml::abi::text() = k4ml::abi::metadataJson();
  return k4ml::abi::text().c_str();
}

}  // extern "C"
