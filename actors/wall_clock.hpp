// Wall-clock timestamps for what the admin endpoint shows (since_ms, at_ms):
// Unix milliseconds. Durations and deadlines use the actor clock instead.
#pragma once

#include <chrono>
#include <cstdint>

namespace corral {

/// Unix milliseconds now.
inline int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

} // namespace corral
