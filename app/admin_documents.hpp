// The admin endpoint's documents, rendered from the actors' snapshots and
// the proxy's counters. Pure functions: the admin handler gathers, these render.
#pragma once

#include "actors/messages.hpp"
#include "proxy/stats.hpp"

#include <string>

namespace corral {

/// Everything /status and /metrics show, gathered at one moment.
struct admin_snapshot {
  std::string image;
  pool_status pool;
  balancer_status balancer;
  proxy_stats proxy;
};

/// GET /status: one JSON document with the pool's slots, the balancer's
/// rotation and the proxy's counters.
std::string render_status_json(const admin_snapshot& snap);

/// GET /metrics: the same facts in the Prometheus text format (0.0.4).
std::string render_metrics(const admin_snapshot& snap);

} // namespace corral
