// k4mlinference: a small subset of the {fmt} library (our own implementation), enough for the messages
// Key4hep algorithms format with it: fmt::format("x = {}, e = {:.3f}", x, e), fmt::print(...),
// fmt::to_string(v).
//
// Supported replacement fields: `{}` (next argument), `{N}` (argument N), `{{` / `}}` (literal braces) and a
// format spec after ':' of the form [[fill]align][sign][#][0][width][.precision][type] with align one of
// < > ^, sign + - or space, and type d x X o b (integers), f F e E g G (floating point), s (strings), c
// (char). Ranges (std::vector, ...) print as [a, b] with strings quoted, as {fmt}/ranges.h does. Without a type, integers print in decimal, floating point in the shortest form that reads back
// exactly (as fmt does), bools as true/false, and any other type through its operator<<. Unlike {fmt},
// the format string is checked when it is used: a bad one throws fmt::format_error.
#pragma once

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <ranges>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace fmt {

/// A malformed format string or a missing argument.
class format_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

namespace detail {

struct Spec {
  char fill{' '};
  char align{'\0'};  // '<', '>', '^' or none
  char sign{'-'};
  bool alt{false};
  bool zero{false};
  int width{0};
  int precision{-1};
  char type{'\0'};
};

inline Spec parseSpec(std::string_view s) {
  Spec sp;
  std::size_t i = 0;
  auto isAlign = [](char c) { return c == '<' || c == '>' || c == '^'; };
  if (s.size() >= 2 && isAlign(s[1])) {
    sp.fill = s[0];
    sp.align = s[1];
    i = 2;
  } else if (!s.empty() && isAlign(s[0])) {
    sp.align = s[0];
    i = 1;
  }
  if (i < s.size() && (s[i] == '+' || s[i] == '-' || s[i] == ' ')) sp.sign = s[i++];
  if (i < s.size() && s[i] == '#') {
    sp.alt = true;
    ++i;
  }
  if (i < s.size() && s[i] == '0') {
    sp.zero = true;
    ++i;
  }
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') sp.width = sp.width * 10 + (s[i++] - '0');
  if (i < s.size() && s[i] == '.') {
    ++i;
    sp.precision = 0;
    if (i >= s.size() || s[i] < '0' || s[i] > '9') throw format_error("fmt: missing precision after '.'");
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') sp.precision = sp.precision * 10 + (s[i++] - '0');
  }
  if (i < s.size()) sp.type = s[i++];
  if (i != s.size()) throw format_error("fmt: invalid format spec '" + std::string(s) + "'");
  return sp;
}

/// Pads `body` to the spec's width (numbers align right by default, text left; '0' pads after the sign).
inline std::string pad(std::string body, const Spec& sp, bool numeric) {
  const int n = static_cast<int>(body.size());
  if (sp.width <= n) return body;
  const std::size_t extra = static_cast<std::size_t>(sp.width - n);
  if (numeric && sp.zero && !sp.align) {
    const std::size_t at = (!body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' ')) ? 1 : 0;
    body.insert(at, extra, '0');
    return body;
  }
  const char align = sp.align ? sp.align : (numeric ? '>' : '<');
  if (align == '<') return body + std::string(extra, sp.fill);
  if (align == '>') return std::string(extra, sp.fill) + body;
  const std::size_t left = extra / 2;
  return std::string(left, sp.fill) + body + std::string(extra - left, sp.fill);
}

inline std::string withSign(std::string digits, bool negative, const Spec& sp) {
  if (negative) return "-" + digits;
  if (sp.sign == '+') return "+" + digits;
  if (sp.sign == ' ') return " " + digits;
  return digits;
}

template <typename T>
std::string formatInteger(T v, const Spec& sp) {
  if (sp.type == 'c') return pad(std::string(1, static_cast<char>(v)), sp, false);
  int base = 10;
  std::string prefix;
  switch (sp.type) {
  case '\0':
  case 'd':
    break;
  case 'x':
  case 'X':
    base = 16;
    prefix = sp.alt ? (sp.type == 'x' ? "0x" : "0X") : "";
    break;
  case 'o':
    base = 8;
    prefix = sp.alt ? "0" : "";
    break;
  case 'b':
    base = 2;
    prefix = sp.alt ? "0b" : "";
    break;
  default:
    throw format_error(std::string("fmt: invalid type '") + sp.type + "' for an integer");
  }
  using U = std::make_unsigned_t<T>;
  const bool negative = v < 0;
  U mag = negative ? static_cast<U>(U(0) - static_cast<U>(v)) : static_cast<U>(v);
  char buf[80];
  auto res = std::to_chars(buf, buf + sizeof(buf), mag, base);
  std::string digits(buf, res.ptr);
  if (sp.type == 'X')
    for (auto& c : digits) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return pad(withSign(prefix + digits, negative, sp), sp, true);
}

template <typename T>
std::string formatFloat(T v, const Spec& sp) {
  char buf[512];
  std::to_chars_result res{};
  const bool negative = std::signbit(v);
  const T mag = negative ? -v : v;
  switch (sp.type) {
  case '\0':
    res = sp.precision < 0 ? std::to_chars(buf, buf + sizeof(buf), mag)
                           : std::to_chars(buf, buf + sizeof(buf), mag, std::chars_format::general, sp.precision);
    break;
  case 'f':
  case 'F':
    res = std::to_chars(buf, buf + sizeof(buf), mag, std::chars_format::fixed, sp.precision < 0 ? 6 : sp.precision);
    break;
  case 'e':
  case 'E':
    res = std::to_chars(buf, buf + sizeof(buf), mag, std::chars_format::scientific, sp.precision < 0 ? 6 : sp.precision);
    break;
  case 'g':
  case 'G':
    res = std::to_chars(buf, buf + sizeof(buf), mag, std::chars_format::general, sp.precision < 0 ? 6 : sp.precision);
    break;
  default:
    throw format_error(std::string("fmt: invalid type '") + sp.type + "' for a floating-point value");
  }
  std::string digits(buf, res.ptr);
  if (sp.type == 'E' || sp.type == 'G' || sp.type == 'F')
    for (auto& c : digits) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return pad(withSign(digits, negative, sp), sp, true);
}

inline std::string formatText(std::string_view s, const Spec& sp) {
  if (sp.type != '\0' && sp.type != 's') throw format_error(std::string("fmt: invalid type '") + sp.type + "' for a string");
  std::string body(s.substr(0, sp.precision >= 0 ? static_cast<std::size_t>(sp.precision) : s.size()));
  return pad(std::move(body), sp, false);
}

template <typename T>
concept Streamable = requires(std::ostream& os, const T& v) { os << v; };

/// One argument, formatted on demand with the spec of its replacement field.
template <typename T>
std::string formatArg(const T& v, const Spec& sp) {
  using D = std::decay_t<T>;
  if constexpr (std::is_same_v<D, bool>) {
    return sp.type == '\0' || sp.type == 's' ? pad(v ? "true" : "false", sp, false) : formatInteger(int(v), sp);
  } else if constexpr (std::is_same_v<D, char>) {
    return sp.type == '\0' || sp.type == 'c' ? pad(std::string(1, v), sp, false) : formatInteger(int(v), sp);
  } else if constexpr (std::is_integral_v<D>) {
    return formatInteger(v, sp);
  } else if constexpr (std::is_floating_point_v<D>) {
    return formatFloat(v, sp);
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    return formatText(std::string_view(v), sp);
  } else if constexpr (std::is_pointer_v<D>) {
    std::ostringstream os;
    os << static_cast<const void*>(v);
    return pad(os.str(), sp, false);
  } else if constexpr (!Streamable<D> && std::ranges::input_range<const D>) {
    std::string out = "[";  // a range (std::vector, ...) as {fmt}'s ranges formatter writes it
    bool first = true;
    for (const auto& e : v) {
      out += first ? "" : ", ";
      first = false;
      if constexpr (std::is_convertible_v<const std::decay_t<decltype(e)>&, std::string_view>) {
        out += '"' + std::string(std::string_view(e)) + '"';
      } else {
        out += formatArg(e, Spec{});
      }
    }
    return pad(out + "]", sp, false);
  } else {
    std::ostringstream os;
    os << v;
    return pad(os.str(), sp, false);
  }
}

inline std::string vformat(std::string_view f, const std::vector<std::function<std::string(const Spec&)>>& args) {
  std::string out;
  out.reserve(f.size() + 16 * args.size());
  std::size_t next = 0;
  bool manual = false, automatic = false;
  for (std::size_t i = 0; i < f.size(); ++i) {
    const char c = f[i];
    if (c == '}') {
      if (i + 1 < f.size() && f[i + 1] == '}') {
        out += '}';
        ++i;
        continue;
      }
      throw format_error("fmt: unmatched '}' in format string");
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < f.size() && f[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    const std::size_t close = f.find('}', i);
    if (close == std::string_view::npos) throw format_error("fmt: '{' without '}' in format string");
    const std::string_view field = f.substr(i + 1, close - i - 1);
    const std::size_t colon = field.find(':');
    const std::string_view id = field.substr(0, colon);
    std::size_t index;
    if (id.empty()) {
      automatic = true;
      index = next++;
    } else {
      manual = true;
      index = 0;
      for (char d : id) {
        if (d < '0' || d > '9') throw format_error("fmt: named arguments are not supported ('" + std::string(id) + "')");
        index = index * 10 + static_cast<std::size_t>(d - '0');
      }
    }
    if (manual && automatic) throw format_error("fmt: cannot mix automatic and manual argument indexing");
    if (index >= args.size()) throw format_error("fmt: argument " + std::to_string(index) + " is missing");
    out += args[index](colon == std::string_view::npos ? Spec{} : parseSpec(field.substr(colon + 1)));
    i = close;
  }
  return out;
}

}  // namespace detail

/// The formatted text: `fmt::format("{} of {}", i, n)`.
template <typename... Args>
std::string format(std::string_view f, const Args&... args) {
  std::vector<std::function<std::string(const detail::Spec&)>> erased{
      [&args](const detail::Spec& sp) { return detail::formatArg(args, sp); }...};
  return detail::vformat(f, erased);
}

/// Format to stdout (or to a FILE*).
template <typename... Args>
void print(std::string_view f, const Args&... args) {
  std::cout << fmt::format(f, args...);
}
template <typename... Args>
void print(std::FILE* file, std::string_view f, const Args&... args) {
  const std::string s = fmt::format(f, args...);
  std::fwrite(s.data(), 1, s.size(), file);
}

/// A value as fmt formats it with `{}`.
template <typename T>
std::string to_string(const T& v) {
  return detail::formatArg(v, detail::Spec{});
}

/// fmt::runtime(s): accepted for source compatibility (every format string is checked at run time here).
inline std::string_view runtime(std::string_view s) { return s; }

}  // namespace fmt
