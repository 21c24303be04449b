// One-line-per-event logging to stderr, safe from any thread without a lock.
#pragma once

#include <sstream>
#include <string_view>

namespace corral::log {

enum class level : int { debug = 0, info = 1, warn = 2, error = 3 };

/// Sets the lowest level that is written (default: info).
void set_level(level lvl);

/// Parses "debug", "info", "warn" or "error"; returns false otherwise.
bool parse_level(std::string_view text, level& out);

/// True when messages of `lvl` are written.
bool enabled(level lvl);

/// Writes one line: an ISO-8601 UTC timestamp, the level, the component and
/// the text, with a single write(2) so lines from threads never interleave.
void write(level lvl, std::string_view component, std::string_view text);

namespace detail {
template <class... Ts>
void emit(level lvl, std::string_view component, const Ts&... xs) {
  if (!enabled(lvl))
    return;
  std::ostringstream out;
  (out << ... << xs);
  write(lvl, component, out.str());
}
} // namespace detail

template <class... Ts>
void debug(std::string_view component, const Ts&... xs) {
  detail::emit(level::debug, component, xs...);
}
template <class... Ts>
void info(std::string_view component, const Ts&... xs) {
  detail::emit(level::info, component, xs...);
}
template <class... Ts>
void warn(std::string_view component, const Ts&... xs) {
  detail::emit(level::warn, component, xs...);
}
template <class... Ts>
void error(std::string_view component, const Ts&... xs) {
  detail::emit(level::error, component, xs...);
}

} // namespace corral::log
