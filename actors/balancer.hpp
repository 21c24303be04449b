// The BALANCER: the rotation of ready backends and their in-flight counts.
#pragma once

#include "actors/actors.hpp"
#include "actors/metered_actor.hpp"
#include "actors/round_robin.hpp"

#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <deque>
#include <map>
#include <vector>

namespace corral {

/// A drain waiting for a port's in-flight requests to finish.
struct pending_drain {
  uint64_t id = 0;
  caf::typed_response_promise<bool> promise;
};

/// Everything the balancer knows about one port it ever handed out.
struct backend_entry {
  /// 5xx answers or broken connections in a row (passive checking).
  uint32_t bad_in_a_row = 0;
  /// Out of the rotation because of passive signals, until it is up again.
  bool ejected = false;
  uint32_t in_flight = 0;
  /// Handed out since the port last joined the rotation.
  uint64_t served = 0;
  /// Handed out since start: never reset (corral_backend_requests_total).
  uint64_t total = 0;
  std::vector<pending_drain> drains;
};

struct balancer_state {
  /// Ports that receive traffic.
  round_robin rotation;
  /// In-flight counts per port, also for ports that left the rotation.
  std::map<uint16_t, backend_entry> backends;
  /// Told about unreachable ports and the first request.
  balancer_listener_actor listener;
  uint64_t handed_out = 0;
  uint64_t no_backend = 0;
  uint64_t failed = 0;
  /// Fresh requests in the current scaling window.
  uint64_t window_requests = 0;
  bool seen_traffic = false;
  uint64_t next_drain_id = 1;
  /// Asks that found no ready backend and wait for one, oldest first.
  struct parked_ask {
    uint64_t id = 0;
    port_ask ask;
  };
  std::deque<parked_ask> parked;
  /// Requests in `parked` (fresh and retries).
  uint64_t parked_requests = 0;
  balancer_settings settings;
  uint64_t next_ask_id = 1;
  uint64_t ejections = 0;
  uint64_t ejections_capped = 0;
  uint64_t queued = 0;
  uint64_t queue_timeouts = 0;

  static inline const char* name = "balancer";
};

/// Spawns-as: hands out backend ports in strict round robin to the proxy and
/// counts their requests in flight, so scale-down can drain a port. While no
/// backend is ready, an ask waits (up to queue.timeout, at most queue.max
/// requests at once) for the next one to come up, instead of failing at
/// once. Passive signals from the proxy (a refused connection; 5xx answers
/// or broken answers passive_failures times in a row) take a backend out at
/// once and have it re-checked; bad answers never more than half of the
/// ready ones: when every backend answers badly, it keeps balancing over
/// all of them.
/// Measures itself into `census` as role "balancer".
balancer_actor::behavior_type
balancer(metered_pointer<balancer_actor, balancer_state> self,
         balancer_listener_actor listener, balancer_settings settings,
         std::shared_ptr<metrics::actor_census> census);

} // namespace corral
