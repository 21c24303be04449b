// Which ports a pool grows into or shrinks from, and how long a failing slot
// waits. Pure; the supervisor calls these.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <set>
#include <vector>

namespace corral {

/// The lowest `count` ports from `start_port` up that are not `taken`, never
/// past the pool's last port (start_port + max_size - 1). Fewer when full.
inline std::vector<uint16_t> free_ports(const std::set<uint16_t>& taken, uint16_t start_port,
                                        uint32_t max_size, uint32_t count) {
  std::vector<uint16_t> result;
  for (uint32_t i = 0; i < max_size && result.size() < count; ++i) {
    auto port = static_cast<uint16_t>(start_port + i);
    if (!taken.count(port))
      result.push_back(port);
  }
  return result;
}

/// The `count` highest of `members`, highest first: scale-down order.
inline std::vector<uint16_t> ports_to_remove(const std::set<uint16_t>& members,
                                             uint32_t count) {
  std::vector<uint16_t> result;
  for (auto i = members.rbegin(); i != members.rend() && result.size() < count; ++i)
    result.push_back(*i);
  return result;
}

/// How long a slot waits before its next container, after `streak`
/// consecutive failures without ever becoming ready. The first failure of a
/// container that was serving is replaced at once (streak 1 -> 0 ms); a slot
/// that keeps failing waits backoff, 2 * backoff, 4 * backoff ... up to max.
inline std::chrono::milliseconds restart_delay(uint32_t streak, std::chrono::milliseconds backoff,
                                               std::chrono::milliseconds max_backoff) {
  if (streak <= 1)
    return std::chrono::milliseconds{0};
  auto delay = backoff;
  for (uint32_t i = 2; i < streak && delay < max_backoff; ++i)
    delay *= 2;
  return std::min(delay, max_backoff);
}

} // namespace corral
