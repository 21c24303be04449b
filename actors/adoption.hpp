// What a starting corral does with the containers an earlier run of the same
// pool left: adopt them, let a rolling update replace them, or remove them.
// Pure; main lists the pool's containers and the supervisor acts.
#pragma once

#include "runtime/container_runtime.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace corral {

/// A container to take over: the slot on `port` starts with it, probed
/// once before it takes traffic.
struct adopted_container {
  uint16_t port = 0;
  std::string id;
  /// Its corral.spec label (0 when it has none): when it differs from the
  /// pool's spec, a rolling update replaces the container after adoption.
  uint64_t spec = 0;
};

/// A container to remove, and why ("exited", "a second container for port
/// 8000", "port 8003 is beyond the pool's 2 containers", ...).
struct leftover_container {
  std::string id;
  std::string name;
  std::string reason;
};

struct adoption_plan {
  std::vector<adopted_container> adopt;
  std::vector<leftover_container> remove;
};

/// Sorts the containers labelled as pool `pool` into those to adopt (running,
/// named `<pool>-<port>` on a port in [start_port, start_port + size)) and
/// those to remove (not running, renamed on their way out, without a port,
/// beyond the size, or a second one for a port: the one whose spec is
/// `spec` is kept, else the first listed). Containers of another spec are
/// adopted too; the rolling update, not this plan, replaces them.
adoption_plan plan_adoption(const std::vector<container_info>& found, const std::string& pool,
                            uint16_t start_port, uint32_t size, uint64_t spec);

} // namespace corral
