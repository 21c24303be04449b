// Waiting and measuring for the tools' threads: a sleep that a stop flag cuts
// short, and the milliseconds between two moments.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

namespace corral {

/// Sleeps until `until` in steps of at most 20 ms; false as soon as `stop` is
/// set, so that a thread with long waits never holds up the end of a run.
inline bool sleep_until(std::chrono::steady_clock::time_point until,
                        const std::atomic<bool>& stop) {
  constexpr auto step = std::chrono::milliseconds{20};
  for (;;) {
    if (stop.load(std::memory_order_relaxed))
      return false;
    auto now = std::chrono::steady_clock::now();
    if (now >= until)
      return true;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(until - now, step));
  }
}

/// Milliseconds from `from` to `to`, negative when `to` is earlier.
inline double ms_between(std::chrono::steady_clock::time_point from,
                         std::chrono::steady_clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

} // namespace corral
