// Glue between the admin endpoint and the actors: gathers snapshots.
#pragma once

#include "proxy/admin_server.hpp"
#include "proxy/stats.hpp"

#include <caf/fwd.hpp>

#include <functional>
#include <string>

namespace corral {

/// Builds the admin endpoint's handler. GET /status and /metrics ask the
/// supervisor and the balancer for snapshots through one short-lived helper
/// actor per request (guides/caf-0.17.md §5: fine for rare asks, never on the
/// proxy's hot path) and add the proxy's counters; GET /healthz answers at
/// once; anything else is 404. `supervisor` and `balancer` are handles of
/// supervisor_actor and balancer_actor.
admin_server::handler_function make_admin_handler(caf::actor_system& sys,
                                                  const caf::actor& supervisor,
                                                  const caf::actor& balancer,
                                                  std::string image,
                                                  std::function<proxy_stats()> proxy_counters);

} // namespace corral
