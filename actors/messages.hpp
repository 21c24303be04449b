// Message types exchanged between corral's actors, with CAF inspectors.
#pragma once

#include "actors/settings.hpp"
#include "metrics/instruments.hpp"
#include "runtime/prober.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace corral {

// -- the proxy's ask -----------------------------------------------------------

/// Receives the balancer's answer to one port_ask, on whatever thread the
/// balancer runs; implementations hand it over to their io thread.
class port_sink {
public:
  virtual ~port_sink() = default;
  /// Delivers one port per asked request, in round-robin order, or nothing
  /// when no backend is ready.
  virtual void deliver(std::vector<uint16_t> ports) = 0;
};

/// One io thread's batched message to the balancer (DESIGN.md, "The hot
/// path"): ports for the requests waiting now, plus what happened to the ports
/// it was handed before. Every handed-out port comes back exactly once, in
/// `finished` or `failed`, so the balancer can count requests in flight.
struct port_ask {
  /// Fresh client requests waiting for a port (counted for scaling).
  uint32_t fresh = 0;
  /// Retries of failed attempts waiting for a port (not counted).
  uint32_t retries = 0;
  /// One entry per request that completed on that port.
  std::vector<uint16_t> finished;
  /// One entry per attempt whose backend could not be reached.
  std::vector<uint16_t> failed;
  /// Where the ports go; null for a report without asks.
  std::shared_ptr<port_sink> reply;
  /// How long the longest-waiting of these requests has waited already:
  /// the balancer's queue counts it against queue_timeout.
  std::chrono::nanoseconds waited{0};
  /// One entry per request the backend answered with a 5xx, or whose
  /// answer broke off: settled like `finished`, counted for passive checks.
  std::vector<uint16_t> bad{};
};

// -- snapshots for the admin endpoint --------------------------------------------

/// One slot of the pool, as the supervisor sees it.
struct slot_status {
  uint16_t port = 0;
  /// creating, adopting, starting, ready, checking, draining, stopping,
  /// backoff, failed.
  std::string state;
  std::string container_id;
  /// Replacements so far.
  uint32_t restarts = 0;
  /// Consecutive failures before a container became ready.
  uint32_t failure_streak = 0;
  /// Unix milliseconds of the last state change.
  int64_t since_ms = 0;
  std::string last_error;
  /// The corral.spec of its container (16 hex digits), empty without one.
  std::string spec;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, slot_status& x) {
  return f(caf::meta::type_name("slot_status"), x.port, x.state,
           x.container_id, x.restarts, x.failure_streak, x.since_ms,
           x.last_error, x.spec);
}

/// The latest rollout: from one container spec to another.
struct rollout_status {
  /// none, rolling, done, rolled_back.
  std::string state = "none";
  /// Specs (16 hex digits) and image IDs.
  std::string from;
  std::string to;
  std::string from_image;
  std::string to_image;
  /// Home slots ready on the new spec, of `total`.
  uint32_t updated = 0;
  uint32_t total = 0;
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  /// Why it was rolled back.
  std::string failure;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rollout_status& x) {
  return f(caf::meta::type_name("rollout_status"), x.state, x.from, x.to, x.from_image,
           x.to_image, x.updated, x.total, x.started_ms, x.finished_ms, x.failure);
}

/// One entry of the supervisor's event log (GET /events).
struct lifecycle_event {
  /// Unix milliseconds.
  int64_t at_ms = 0;
  /// created, started, ready, killed, died, oom, unhealthy, replaced,
  /// removed, start_failed, adopted, scale.
  std::string event;
  /// 0 where no slot is concerned (scale).
  uint16_t port = 0;
  /// Short container id; empty where none is concerned.
  std::string container;
  std::string detail;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lifecycle_event& x) {
  return f(caf::meta::type_name("lifecycle_event"), x.at_ms, x.event, x.port,
           x.container, x.detail);
}

/// The whole pool, as the supervisor sees it.
struct pool_status {
  std::string name;
  /// Containers the pool should have (scaling target, clamped).
  uint32_t desired = 0;
  uint32_t min_containers = 0;
  uint32_t max_containers = 0;
  /// The spec (16 hex digits) and image ID new containers get.
  std::string spec;
  std::string image_id;
  std::vector<slot_status> slots;
  rollout_status rollout;
  /// Lifecycle events since start, by event name.
  std::map<std::string, uint64_t> event_counts;
  /// Deaths the engine reported, by exit class: clean, error, signal, oom.
  std::map<std::string, uint64_t> deaths;
  /// The latest events, oldest first.
  std::vector<lifecycle_event> events;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pool_status& x) {
  return f(caf::meta::type_name("pool_status"), x.name, x.desired, x.min_containers,
           x.max_containers, x.spec, x.image_id, x.slots, x.rollout, x.event_counts, x.deaths,
           x.events);
}

/// Load on one routable backend.
struct backend_load {
  uint16_t port = 0;
  uint32_t in_flight = 0;
  /// Requests handed to it since it (re)joined.
  uint64_t served = 0;
  /// True while it leaves the rotation and finishes what it has.
  bool draining = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, backend_load& x) {
  return f(caf::meta::type_name("backend_load"), x.port, x.in_flight,
           x.served, x.draining);
}

/// Requests one backend port was ever handed (monotonic).
struct port_requests {
  uint16_t port = 0;
  uint64_t requests = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, port_requests& x) {
  return f(caf::meta::type_name("port_requests"), x.port, x.requests);
}

/// The balancer's rotation and counters.
struct balancer_status {
  std::vector<backend_load> backends;
  /// Every port ever handed out, with its total.
  std::vector<port_requests> requests_by_port;
  /// Ports in the rotation now.
  uint32_t ready = 0;
  /// Ports handed out since start (including retries).
  uint64_t handed_out = 0;
  /// Requests answered 503 because nothing was ready.
  uint64_t no_backend = 0;
  /// Attempts the proxy reported as unreachable.
  uint64_t failed = 0;
  /// Fresh requests in the current scaling window.
  uint64_t window_requests = 0;
  /// Requests waiting for a ready backend now, ever, and those that waited
  /// in vain (queue_timeout passed, or queue_max was full).
  uint64_t queued_now = 0;
  uint64_t queued = 0;
  uint64_t queue_timeouts = 0;
  /// Backends taken out by passive signals (refused connections, 5xx in a
  /// row), and those the ejection cap kept in.
  uint64_t ejections = 0;
  uint64_t ejections_capped = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, balancer_status& x) {
  return f(caf::meta::type_name("balancer_status"), x.backends, x.requests_by_port, x.ready,
           x.handed_out, x.no_backend, x.failed, x.window_requests, x.queued_now, x.queued,
           x.queue_timeouts, x.ejections, x.ejections_capped);
}

/// Probes of one port, as the health checker counted them.
struct port_probes {
  uint16_t port = 0;
  /// By probe_outcome, in the order of runtime/prober.hpp's probe_outcomes.
  std::vector<uint64_t> by_outcome;
  /// The current container's latest probe; empty `last_result` when none
  /// answered yet (or the port is not watched now).
  std::string last_result;
  double last_latency_seconds = 0;
  int64_t last_at_ms = 0;
};

/// The health checker's counters.
struct health_status {
  std::vector<port_probes> ports;
  metrics::histogram_snapshot probe_seconds;
  uint64_t became_healthy = 0;
  uint64_t became_unhealthy = 0;
};

/// One closed scaling window's decision.
struct scale_record {
  uint32_t from = 0;
  uint32_t to = 0;
  /// up, down or hold.
  std::string direction;
  /// rule, stabilising, step_limit or bounds.
  std::string reason;
  uint64_t requests = 0;
  int64_t at_ms = 0;
};

/// The scaler's counters.
struct scaler_status {
  /// The scaling interval in effect.
  uint64_t interval_ms = 0;
  uint64_t windows = 0;
  uint64_t last_window_requests = 0;
  /// Decisions by {direction, reason}.
  std::map<std::pair<std::string, std::string>, uint64_t> decisions;
  /// The latest decision; windows == 0 when there was none.
  scale_record last;
};

/// One container of the pool as the engine reports it after the events
/// stream reconnected (events missed meanwhile are not replayed).
struct observed_container {
  uint16_t port = 0;
  std::string id;
  bool running = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, observed_container& x) {
  return f(caf::meta::type_name("observed_container"), x.port, x.id,
           x.running);
}

} // namespace corral

namespace corral {

/// A reloaded config's part for the pool: everything the supervisor and its
/// helpers apply live, and the image ID the pool's tag resolves to now.
struct pool_update {
  pool_settings pool;
  health_settings health;
  restart_settings restart;
  scaling_settings scaling;
  rollout_settings rollout;
  queue_settings queue;
  std::string image_id;
};

} // namespace corral

// The ask carries a callback into an io thread: local only, never serialized.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::port_ask)
// Status answers for the admin endpoint: local only, never serialized.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::health_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::probe_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::scaler_status)
// Settings travel inside one process only.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::pool_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::balancer_settings)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::health_settings)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::scaling_settings)
