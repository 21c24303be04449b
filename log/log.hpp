// The one logger of corral, its tools and the Acts service: one line per
// event on stderr, as text or JSON (docs/OBSERVABILITY.md, "The log").
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <type_traits>

namespace corral::log {

/// How much a line matters; lines below the set level are not written.
enum class level : int { debug = 0, info = 1, warn = 2, error = 3 };

/// How a line looks: `text` (key=value, for people) or `json` (one object per line).
enum class format : uint8_t { text, json };

/// Sets the lowest level that is written (default: info).
void set_level(level lvl);

/// Parses "debug", "info", "warn" or "error"; returns false otherwise.
bool parse_level(std::string_view text, level& out);

/// Sets the format of every later line (default: text).
void set_format(format fmt);

/// Parses "text" or "json"; returns false otherwise.
bool parse_format(std::string_view text, format& out);

/// True when lines of `lvl` are written. Guard a line whose fields cost
/// something to build (an error_code's message) with it on hot paths.
bool enabled(level lvl);

/// Who writes a line: the component (the metrics' role names: "supervisor",
/// "balancer", "health_checker", "scaler", "container"; or "corral",
/// "proxy", "admin", "events", "prober", "acts", "chaos") and, for container
/// actors, the port of their slot.
struct source {
  source(const char* c) : component(c) {}
  source(std::string_view c) : component(c) {}
  source(std::string_view c, uint16_t port) : component(c), port(port) {}

  std::string_view component;
  /// 0 for none; shown as `component:port` in text, a `port` field in JSON.
  uint16_t port = 0;
};

/// One key=value field of a line. The value is a string (string_view,
/// const char*, std::string), an integer, a floating point number or a bool.
/// Holds views, not copies: valid for the call it is written in only, which
/// is what `{"container", name_of(port)}` in a log call's list needs.
class field {
public:
  /// What the value is, for the formatter.
  enum class kind : uint8_t { string, signed_integer, unsigned_integer, floating, boolean };

  template <class T>
  field(std::string_view key, const T& value) : key_(key) {
    if constexpr (std::is_same_v<T, bool>) {
      kind_ = kind::boolean;
      boolean_ = value;
    } else if constexpr (std::is_same_v<T, char> || std::is_same_v<T, signed char>
                         || std::is_same_v<T, unsigned char>) {
      static_assert(!std::is_same_v<T, T>, "a char is neither text nor a number: "
                                           "pass a string_view or cast to int");
    } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
      kind_ = kind::signed_integer;
      signed_ = value;
    } else if constexpr (std::is_integral_v<T>) {
      kind_ = kind::unsigned_integer;
      unsigned_ = value;
    } else if constexpr (std::is_floating_point_v<T>) {
      kind_ = kind::floating;
      floating_ = static_cast<double>(value);
    } else if constexpr (std::is_pointer_v<T> && std::is_convertible_v<T, const char*>) {
      // A null C string is written as an empty one rather than crashing the logger.
      kind_ = kind::string;
      text_ = value != nullptr ? std::string_view{value} : std::string_view{};
    } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
      kind_ = kind::string;
      text_ = std::string_view{value};
    } else {
      static_assert(!std::is_same_v<T, T>, "a log field's value is a string, an integer, "
                                           "a floating point number or a bool");
    }
  }

  std::string_view key() const { return key_; }
  kind type() const { return kind_; }
  /// The value; only the one `type()` names is meaningful.
  std::string_view text() const { return text_; }
  int64_t signed_value() const { return signed_; }
  uint64_t unsigned_value() const { return unsigned_; }
  double floating_value() const { return floating_; }
  bool boolean_value() const { return boolean_; }

private:
  std::string_view key_;
  std::string_view text_;
  union {
    int64_t signed_ = 0;
    uint64_t unsigned_;
    double floating_;
    bool boolean_;
  };
  kind kind_ = kind::string;
};

/// Writes one line: an ISO-8601 UTC timestamp with milliseconds, the level,
/// the component, the message and the fields, with a single write(2) and no
/// lock, so that lines from threads never interleave. Writes whatever the
/// level; the functions below check enabled() first.
void write(level lvl, const source& from, std::string_view message,
           std::initializer_list<field> fields = {});

/// A line at debug level. The arguments are built before the call: guard
/// costly fields with `if (log::enabled(log::level::debug))`.
inline void debug(const source& from, std::string_view message,
                  std::initializer_list<field> fields = {}) {
  if (enabled(level::debug))
    write(level::debug, from, message, fields);
}

/// A line at info level.
inline void info(const source& from, std::string_view message,
                 std::initializer_list<field> fields = {}) {
  if (enabled(level::info))
    write(level::info, from, message, fields);
}

/// A line at warn level.
inline void warn(const source& from, std::string_view message,
                 std::initializer_list<field> fields = {}) {
  if (enabled(level::warn))
    write(level::warn, from, message, fields);
}

/// A line at error level.
inline void error(const source& from, std::string_view message,
                  std::initializer_list<field> fields = {}) {
  if (enabled(level::error))
    write(level::error, from, message, fields);
}

} // namespace corral::log
