// The front end's counters: written by one io thread each, summed on demand.
#pragma once

#include "metrics/instruments.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace corral {

/// Upper bounds (inclusive, microseconds) of the request latency buckets;
/// one more bucket counts everything slower.
inline constexpr std::array<uint64_t, 14> latency_bounds_us{
  100,    250,    500,     1000,    2500,    5000,    10000,
  25000,  50000,  100000,  250000,  500000,  1000000, 5000000};

/// Upper bounds of the ports-per-ask buckets: how many sessions an io
/// thread's one message to the balancer carried.
inline constexpr std::array<uint64_t, 9> batch_bounds{1, 2, 4, 8, 16, 32, 64, 128, 256};

/// A snapshot of the front end's counters, summed over its io threads.
struct proxy_stats {
  /// Client connections accepted, and open right now.
  uint64_t connections_accepted = 0;
  uint64_t connections_open = 0;
  /// Requests read completely from clients.
  uint64_t requests = 0;
  /// Responses written, by status class: [0] = 1xx ... [4] = 5xx.
  std::array<uint64_t, 5> responses_by_class{};
  /// Responses the proxy made up itself: no backend could take the request,
  /// no backend was ready, the backend did not answer in time.
  uint64_t bad_gateway = 0;
  uint64_t no_backend = 0;
  uint64_t gateway_timeout = 0;
  /// Attempts repeated on another backend.
  uint64_t retries = 0;
  /// Attempts corral itself could not make (out of descriptors, say).
  uint64_t local_errors = 0;
  /// Requests refused at once because their bodies would go past
  /// max_buffered.
  uint64_t busy = 0;
  /// Requests refused for their head (no Host, CL with TE, TRACE, ...).
  uint64_t refused = 0;
  /// Connections closed because a request did not arrive in time (idle,
  /// a slow head, a stalled body).
  uint64_t client_timeouts = 0;
  /// Requests whose client went away while the backend worked on them
  /// (the backend exchange was cancelled).
  uint64_t client_gone = 0;
  /// Request bodies held in memory now, and the bound ([proxy] max_buffered);
  /// filled in by proxy_server::stats(), not per thread.
  uint64_t buffered_bytes = 0;
  uint64_t max_buffered = 0;
  /// Open client connections and the bound (max_connections), likewise.
  uint64_t max_connections = 0;
  /// Backend connections opened, and requests sent over a pooled one.
  uint64_t backend_connects = 0;
  uint64_t backend_reuses = 0;
  /// Time from a complete request to its complete response, in seconds.
  metrics::histogram_snapshot latency;
  /// The balancer round trip as the io threads see it: from a session
  /// asking for a port to the port arriving, in seconds; one observation
  /// per port asked for.
  metrics::histogram_snapshot round_trip;
  /// Ports asked for per message to the balancer.
  metrics::histogram_snapshot asks_per_batch;

  /// Adds another snapshot (another io thread) to this one.
  proxy_stats& operator+=(const proxy_stats& other);
};

/// One io thread's counters. Only the owning thread writes them (a relaxed
/// load and store, no locked instruction); any thread may read a snapshot.
class thread_counters {
public:
  using counter = metrics::counter;

  /// Client connections accepted and closed (open = the difference).
  counter connections_accepted;
  counter connections_closed;
  /// The rest as in proxy_stats.
  counter requests;
  std::array<counter, 5> responses_by_class;
  counter bad_gateway;
  counter no_backend;
  counter gateway_timeout;
  counter retries;
  counter local_errors;
  counter busy;
  counter refused;
  counter client_timeouts;
  counter client_gone;
  counter backend_connects;
  counter backend_reuses;
  /// Balancer round trips in nanoseconds, and ports per ask.
  metrics::duration_histogram round_trip;
  metrics::histogram<batch_bounds.size()> asks_per_batch{batch_bounds};

  /// Counts one response with status `status`.
  void count_response(unsigned status) noexcept;

  /// Records the latency of one request.
  void record_latency(std::chrono::steady_clock::duration elapsed) noexcept;

  /// Returns the current values; any thread.
  proxy_stats snapshot() const;

private:
  metrics::histogram<latency_bounds_us.size()> latency_us_{latency_bounds_us};
};

} // namespace corral
