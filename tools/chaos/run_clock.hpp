// The clock of one chaos run: its progress lines and its report count from the same origin.
#pragma once

#include "log/log.hpp"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>

namespace corral::chaos {

/// The first 12 characters of a container id, as `docker ps` shows it.
inline std::string short_id(const std::string& id) {
  return id.substr(0, 12);
}

/// Milliseconds rounded to whole ones, as progress lines show them.
inline int64_t whole_ms(double ms) {
  return std::llround(ms);
}

/// The origin of one run. Each progress line (corral's logger, component
/// `chaos`) carries the seconds since it as the field `t`, the clock the
/// report's failure list uses, so that a failed request can be found among
/// the faults around it.
class run_clock {
public:
  explicit run_clock(std::chrono::steady_clock::time_point origin) : origin_(origin) {}

  /// Milliseconds from the origin to `t` (negative before it).
  double ms_since_origin(std::chrono::steady_clock::time_point t) const {
    return std::chrono::duration<double, std::milli>(t - origin_).count();
  }

  /// `t=<seconds since the origin>`, to the millisecond: the first field of
  /// every progress line.
  log::field elapsed() const {
    return {"t", std::round(ms_since_origin(std::chrono::steady_clock::now())) / 1000};
  }

private:
  std::chrono::steady_clock::time_point origin_;
};

} // namespace corral::chaos
