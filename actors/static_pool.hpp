// The STATIC POOL: the pool's owner when corral fronts backends it does not
// run ([pool] runtime = "static"). It speaks the supervisor's interface, so
// the proxy, the admin endpoint and reload see no difference, but its only
// levers are the rotation and the probes: a backend that fails its probes
// (or looks bad to the proxy) leaves the rotation and is probed until it
// passes again; nothing is ever started, stopped or scaled.
#pragma once

#include "actors/actors.hpp"
#include "actors/metered_actor.hpp"
#include "actors/settings.hpp"
#include "runtime/prober.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace corral {

namespace metrics {
class actor_census;
}

struct static_pool_config {
  pool_settings pool;
  health_settings health;
  queue_settings queue;
  /// Where every actor of the pool measures itself; null measures nothing.
  std::shared_ptr<metrics::actor_census> census;
};

/// One backend as the static pool sees it.
struct static_backend {
  /// starting (never passed yet), ready, checking (out of the rotation until
  /// it passes again), down (failed its probes; probed until it passes).
  std::string state = "starting";
  int64_t since_ms = 0;
  /// Times it left the rotation.
  uint32_t failures = 0;
  std::string last_error;
};

struct static_pool_state {
  static_pool_config cfg;
  std::map<uint16_t, static_backend> backends;
  balancer_actor balancer;
  health_checker_actor health;
  scaler_actor scaler;
  std::map<std::string, uint64_t> event_counts;
  std::deque<lifecycle_event> events;
  static constexpr size_t max_events = 200;

  static inline const char* name = "static_pool";
};

/// Spawns-as: probes every backend, routes to those that pass, takes one out
/// of the rotation when it fails (and probes it until it passes), and applies
/// a reloaded backend list by adding and removing backends.
supervisor_actor::behavior_type
static_pool(metered_pointer<supervisor_actor, static_pool_state> self, static_pool_config cfg,
            std::shared_ptr<prober> probes);

/// The name a static backend goes by where a container id would stand.
std::string static_backend_id(uint16_t port);

} // namespace corral
