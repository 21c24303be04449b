// The admin endpoint's documents, rendered from the actors' snapshots, the
// actor census and the proxy's counters. Pure functions: the admin handler
// gathers, these render (docs/OBSERVABILITY.md describes every field).
#pragma once

#include "actors/messages.hpp"
#include "metrics/actor_census.hpp"
#include "proxy/stats.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace corral {

/// The corral process itself, as /proc shows it.
struct process_info {
  std::string version;
  int64_t pid = 0;
  /// Unix milliseconds of the start.
  int64_t started_ms = 0;
  double uptime_seconds = 0;
  /// User plus system CPU time.
  double cpu_seconds = 0;
  uint64_t resident_bytes = 0;
  uint64_t open_fds = 0;
  uint64_t max_fds = 0;
};

/// Reads this process's CPU time, resident memory and file descriptors;
/// `version` and `started_ms` are the caller's.
process_info read_process_info(std::string version, int64_t started_ms);

/// Everything /status and /metrics show, gathered at one moment.
struct admin_snapshot {
  std::string image;
  pool_status pool;
  balancer_status balancer;
  health_status health;
  scaler_status scaler;
  proxy_stats proxy;
  std::vector<metrics::actor_series> actors;
  process_info process;
};

/// How many of the latest events /status carries (/events has them all).
inline constexpr size_t status_events = 20;

/// GET /status: one JSON document with the pool's slots (each with its
/// requests, latest probe and its actor's figures), the balancer, the
/// scaler, the proxy, every actor series and the latest events.
std::string render_status_json(const admin_snapshot& snap);

/// GET /events: the supervisor's event log, oldest first.
std::string render_events_json(const pool_status& pool);

/// GET /metrics: the Prometheus text format (0.0.4).
std::string render_metrics(const admin_snapshot& snap);

} // namespace corral
