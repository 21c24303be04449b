// The SCALER: closes a window every scaling interval, turns the window's
// request count into a pool size and asks the supervisor for it.
#pragma once

#include "actors/actors.hpp"
#include "actors/metered_actor.hpp"
#include "actors/scaling_policy.hpp"
#include "actors/settings.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <optional>

namespace corral {

struct scaler_state {
  scaling_settings settings;
  uint32_t min_size = 1;
  uint32_t max_size = 1;
  scale_listener_actor listener;
  balancer_actor balancer;
  std::optional<scale_decider> decider;
  /// The size the pool heads for, as the supervisor last confirmed it.
  uint32_t current = 0;
  bool window_open = false;
  /// The current window; a tick of another is stale.
  uint64_t window_id = 0;
  /// Windows and decisions so far (GET /status, /metrics).
  scaler_status counters;

  static inline const char* name = "scaler";
};

/// Spawns-as: opens the first window at startup or at the first proxied
/// request (settings.start), then every `settings.interval` takes the
/// window's count from `balancer` (which resets it) and asks `listener` for
/// the size the rule and the stabilisers give. The pool starts at min_size.
/// Every window's decision is counted, with its reason.
scaler_actor::behavior_type
scaler(metered_pointer<scaler_actor, scaler_state> self, scale_listener_actor listener,
       balancer_actor balancer, scaling_settings settings, uint32_t min_size,
       uint32_t max_size, std::shared_ptr<metrics::actor_census> census);

} // namespace corral
