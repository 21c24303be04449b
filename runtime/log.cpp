// Lock-free line logger: each line is formatted first and written at once.
#include "runtime/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <unistd.h>

namespace corral::log {

namespace {

std::atomic<int> min_level{static_cast<int>(level::info)};

const char* name_of(level lvl) {
  switch (lvl) {
    case level::debug:
      return "debug";
    case level::info:
      return "info ";
    case level::warn:
      return "warn ";
    case level::error:
      return "error";
  }
  return "?    ";
}

} // namespace

void set_level(level lvl) {
  min_level.store(static_cast<int>(lvl), std::memory_order_relaxed);
}

bool parse_level(std::string_view text, level& out) {
  if (text == "debug")
    out = level::debug;
  else if (text == "info")
    out = level::info;
  else if (text == "warn")
    out = level::warn;
  else if (text == "error")
    out = level::error;
  else
    return false;
  return true;
}

bool enabled(level lvl) {
  return static_cast<int>(lvl) >= min_level.load(std::memory_order_relaxed);
}

void write(level lvl, std::string_view component, std::string_view text) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char stamp[64];
  std::snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
                utc.tm_min, utc.tm_sec, static_cast<int>(millis));
  std::string line;
  line.reserve(48 + component.size() + text.size());
  line.append(stamp).append(" ").append(name_of(lvl)).append(" ");
  line.append(component).append(": ").append(text).append("\n");
  // One write(2) per line: the kernel keeps lines from threads apart.
  auto rc = ::write(STDERR_FILENO, line.data(), line.size());
  (void) rc;
}

} // namespace corral::log
