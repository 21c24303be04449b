// The SUPERVISOR: owns the pool's slots — which ports exist, which container
// serves each, what spec the pool's containers run — and carries out what the
// slot life cycle (actors/slot_lifecycle.hpp) and the pool planner
// (actors/pool_plan.hpp) decide. It spawns (and shares its fate with) the
// balancer, the health checker and the scaler.
#pragma once

#include "actors/actors.hpp"
#include "actors/adoption.hpp"
#include "actors/metered_actor.hpp"
#include "actors/settings.hpp"
#include "actors/slot_lifecycle.hpp"
#include "runtime/container_runtime.hpp"
#include "runtime/prober.hpp"

#include <caf/actor_clock.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace corral {

/// One port of the pool and the container serving it.
struct slot {
  /// What the life cycle table reads and updates.
  slot_facts facts;
  container_actor actor;
  std::string container_id;
  /// Unique per container incarnation across all slots; stale timers and
  /// replies carry an older one.
  uint64_t generation = 0;
  /// The spec fingerprint of its container (or of the one it launches).
  uint64_t spec = 0;
  /// Taken over from an earlier run rather than created.
  bool adopted = false;
  std::string last_error;
  /// A die event for a container whose id was not known yet.
  std::string early_death;
  caf::actor_clock::time_point launched_at;
  int64_t since_ms = 0;
};

/// What the pool's containers are made from: the pool's settings with the
/// image resolved to an ID, and their fingerprint (the corral.spec label).
struct pool_template {
  pool_settings pool;
  std::string image_id;
  /// The corral.owner label.
  std::string owner;
  uint64_t spec = 0;
};

/// What the supervisor needs besides its runtime and prober.
struct supervisor_config {
  pool_settings pool;
  health_settings health;
  restart_settings restart;
  scaling_settings scaling;
  rollout_settings rollout;
  queue_settings queue;
  /// What pool.image resolves to now; new containers are created from it.
  std::string image_id;
  /// Containers of an earlier run to take over (see actors/adoption.hpp).
  std::vector<adopted_container> adopt;
  /// Value of the corral.owner label on every container.
  std::string owner = "corral";
  /// Container actors make blocking calls: detached in production, on the
  /// (test) scheduler in unit tests whose fake runtime never blocks.
  bool detach_containers = true;
  /// Where every actor of the pool measures itself; null measures nothing.
  std::shared_ptr<metrics::actor_census> census;
};

/// A container actor that gave up its slot (renamed after a kill) and is
/// still removing its container.
struct removing_container {
  container_actor actor;
  uint16_t port = 0;
  std::string container_id;
};

struct supervisor_state {
  supervisor_config cfg;
  std::shared_ptr<container_runtime> runtime;
  std::map<uint16_t, slot> slots;
  /// The size the pool heads for.
  uint32_t desired = 0;
  /// What new containers are made from.
  pool_template target;
  /// During a rollout: the last spec the whole pool ran, which a rollback
  /// returns to.
  std::optional<pool_template> last_good;
  rollout_status rollout;
  uint64_t next_generation = 1;
  balancer_actor balancer;
  health_checker_actor health;
  scaler_actor scaler;
  /// Container actors still removing a container that released its slot;
  /// shutdown waits for them too.
  std::vector<removing_container> removing;
  bool shutting_down = false;
  /// A successor takes the pool over: no slot changes any more.
  bool frozen = false;
  /// Shutdown leaves the containers running (on_exit = keep, or a takeover).
  bool keep_on_exit = false;
  std::vector<caf::typed_response_promise<bool>> shutdown_waiters;
  /// Lifecycle events since start by name, deaths by exit class, and the
  /// latest events themselves (at most max_events, oldest first).
  std::map<std::string, uint64_t> event_counts;
  std::map<std::string, uint64_t> deaths;
  std::deque<lifecycle_event> events;
  static constexpr size_t max_events = 200;

  static inline const char* name = "supervisor";
};

/// Spawns-as: adopts the containers in `cfg.adopt`, brings the pool to
/// min_containers on consecutive ports from start_port, replaces a
/// container that dies or fails its health check on the same port (at once
/// the first time, then with exponential backoff while replacements keep
/// failing; not at all when a retry cannot help), follows the scaler's
/// decisions, rolls a new container spec out a few containers at a time
/// (rolling back when a new container does not become ready), and on
/// shutdown stops and removes (or leaves) every container. Every lifecycle
/// event is counted and kept in a short log for the admin endpoint.
supervisor_actor::behavior_type
supervisor(metered_pointer<supervisor_actor, supervisor_state> self, supervisor_config cfg,
           std::shared_ptr<container_runtime> runtime, std::shared_ptr<prober> probes);

/// The exit class of a death the engine reported (corral_container_deaths_total):
/// clean (0), error (1-127), signal (128 and up), oom.
const char* exit_class(int32_t exit_code, bool oom);

} // namespace corral
