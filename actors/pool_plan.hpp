// What the pool does next to reach its goal: the right number of slots on
// consecutive ports, every one running the goal's container spec. Scaling
// and rolling updates are the same question here: which slots to add, which
// to retire, which draining slot to keep. Pure; the supervisor asks after
// every change and carries the moves out.
#pragma once

#include "actors/slot_lifecycle.hpp"

#include <cstdint>
#include <set>
#include <vector>

namespace corral {

/// One slot as the planner sees it.
struct slot_view {
  uint16_t port = 0;
  slot_phase phase = slot_phase::creating;
  /// Chosen to leave; on its way out.
  bool leaving = false;
  /// The spec of its container (or of the one it will launch).
  uint64_t spec = 0;
};

/// Where the pool heads.
struct pool_goal {
  uint16_t start_port = 8000;
  /// Slots wanted, on start_port .. start_port + size - 1 ("home" ports).
  uint32_t size = 1;
  /// The spec every slot should run.
  uint64_t spec = 0;
  /// During a rollout: slots beyond size that may run at once (Kubernetes'
  /// maxSurge), on the ports right after the home ports.
  uint32_t max_surge = 1;
  /// During a rollout or a scale-down: how many fewer than `size` ready
  /// slots may serve (maxUnavailable).
  uint32_t max_unavailable = 0;
};

/// The next moves. Retired slots drain and stop; launched ones start a new
/// container of the goal's spec on that port.
struct pool_moves {
  std::vector<uint16_t> launch;
  std::vector<uint16_t> retire;
  /// Draining slots of the goal's spec kept after all (the pool grew again).
  std::vector<uint16_t> keep;

  bool empty() const {
    return launch.empty() && retire.empty() && keep.empty();
  }
};

/// Plans the next moves from `slots` toward `goal`:
/// - a draining slot of the goal's spec is kept while the pool lacks slots;
/// - a home port without a slot gets one;
/// - while a home slot runs another spec (a rollout), a surge slot starts on
///   the first free port after the home ports (up to max_surge), and old
///   slots retire (not ready ones first, then the lowest port) as long as
///   size - max_unavailable ready slots remain; an adopted slot is not
///   retired before its probe decided (it may serve meanwhile);
/// - slots past the home ports (surge, or a smaller size) retire once no
///   rollout needs them, highest first, not below size - max_unavailable
///   ready slots (not-ready ones at once).
pool_moves plan_pool(const std::vector<slot_view>& slots, const pool_goal& goal);

/// True when every home port has a ready slot of the goal's spec and no
/// other slot is left: a rollout is complete.
bool pool_settled(const std::vector<slot_view>& slots, const pool_goal& goal);

} // namespace corral
