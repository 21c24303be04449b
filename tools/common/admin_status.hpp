// corral's GET /status as the tools and the integration tests read it: the
// pool's size and slots, and the proxy's counters.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace corral::admin {

/// One slot of the pool as /status shows it.
struct slot_view {
  uint16_t port = 0;
  /// creating, starting, ready, checking, draining, stopping or waiting.
  std::string state;
  /// The container's full id; empty while none is created.
  std::string container;
  uint32_t restarts = 0;
  std::string last_error;

  bool ready() const { return state == "ready"; }
};

/// The proxy's counters from /status, cumulative since corral started.
struct proxy_counters {
  uint64_t requests = 0;
  /// Attempts moved to another backend after a failed connect or a broken
  /// connection: the failures corral hid from clients.
  uint64_t retries = 0;
  uint64_t bad_gateway = 0;
  uint64_t no_backend = 0;
  uint64_t gateway_timeout = 0;

  /// The counts from `earlier` to these.
  proxy_counters since(const proxy_counters& earlier) const;
};

/// What /status tells about the pool and the proxy.
struct pool_view {
  std::string name;
  /// The size the pool heads for.
  uint32_t desired = 0;
  /// Ordered by port, as corral lists them.
  std::vector<slot_view> slots;
  /// The proxy part, when the document has one.
  std::optional<proxy_counters> proxy;

  /// The slot on `port`, or nullptr.
  const slot_view* find(uint16_t port) const;
  /// Slots in state ready.
  std::size_t ready_count() const;
  /// True when the pool has exactly `desired` slots and all of them are ready.
  bool whole() const;
};

/// Parses a /status body; nullopt when it is not the document corral writes
/// (never an exception: callers poll it inside their wait loops).
std::optional<pool_view> parse_status(std::string_view body);

} // namespace corral::admin
