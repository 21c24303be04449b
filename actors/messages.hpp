// Message types exchanged between corral's actors, with CAF inspectors.
#pragma once

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
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
};

// -- snapshots for the admin endpoint --------------------------------------------

/// One slot of the pool, as the supervisor sees it.
struct slot_status {
  uint16_t port = 0;
  /// creating, starting, ready, draining, stopping, failed, waiting.
  std::string state;
  std::string container_id;
  /// Replacements so far.
  uint32_t restarts = 0;
  /// Consecutive failures before a container became ready.
  uint32_t failure_streak = 0;
  /// Unix milliseconds of the last state change.
  int64_t since_ms = 0;
  std::string last_error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, slot_status& x) {
  return f(caf::meta::type_name("slot_status"), x.port, x.state,
           x.container_id, x.restarts, x.failure_streak, x.since_ms,
           x.last_error);
}

/// The whole pool, as the supervisor sees it.
struct pool_status {
  std::string name;
  /// Containers the pool should have (scaling target, clamped).
  uint32_t desired = 0;
  std::vector<slot_status> slots;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pool_status& x) {
  return f(caf::meta::type_name("pool_status"), x.name, x.desired, x.slots);
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

/// The balancer's rotation and counters.
struct balancer_status {
  std::vector<backend_load> backends;
  /// Ports handed out since start (including retries).
  uint64_t handed_out = 0;
  /// Requests answered 503 because nothing was ready.
  uint64_t no_backend = 0;
  /// Attempts the proxy reported as unreachable.
  uint64_t failed = 0;
  /// Fresh requests in the current scaling window.
  uint64_t window_requests = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, balancer_status& x) {
  return f(caf::meta::type_name("balancer_status"), x.backends, x.handed_out,
           x.no_backend, x.failed, x.window_requests);
}

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

// The ask carries a callback into an io thread: local only, never serialized.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::port_ask)
