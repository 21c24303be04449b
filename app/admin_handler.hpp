// Glue between the admin endpoint and the actors: gathers snapshots.
#pragma once

#include "metrics/actor_census.hpp"
#include "proxy/admin_server.hpp"
#include "proxy/stats.hpp"

#include <caf/actor.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace corral {

/// What the admin endpoint reads: the actors it asks (handles of
/// supervisor_actor, balancer_actor, health_checker_actor and scaler_actor),
/// the census it reads without asking anyone, and the proxy's counters.
struct admin_sources {
  caf::actor supervisor;
  caf::actor balancer;
  caf::actor health;
  caf::actor scaler;
  std::shared_ptr<metrics::actor_census> census;
  std::string image;
  std::function<proxy_stats()> proxy_counters;
  /// Unix milliseconds of corral's start.
  int64_t started_ms = 0;
};

/// Builds the admin endpoint's handler. GET /status, /metrics and /events
/// ask the actors for their counters through one short-lived, measured
/// helper actor per request (guides/caf-0.17.md §5: fine for rare asks,
/// never on the proxy's hot path), read the actor census and the proxy's
/// counters; GET /healthz answers at once; anything else is 404.
admin_server::handler_function make_admin_handler(caf::actor_system& sys, admin_sources sources);

} // namespace corral
