// The SUPERVISOR: owns the pool's slots — which ports exist, which container
// serves each, restarts with backoff, scaling and shutdown. It spawns (and
// shares its fate with) the balancer, the health checker and the scaler.
#pragma once

#include "actors/actors.hpp"
#include "actors/metered_actor.hpp"
#include "actors/settings.hpp"
#include "runtime/container_runtime.hpp"
#include "runtime/prober.hpp"

#include <caf/actor_clock.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace corral {

/// Where a slot's current container is in its lifecycle (DESIGN.md).
enum class slot_phase : uint8_t {
  /// The container actor creates and starts the container.
  creating,
  /// Running; probed until its first pass.
  starting,
  /// In the balancer's rotation.
  ready,
  /// Out of the rotation after the proxy could not reach it; re-probed.
  checking,
  /// Leaving (scale-down): out of the rotation, finishing in-flight requests.
  draining,
  /// Its container is being stopped or killed and removed.
  stopping,
  /// No container: the restart backoff runs.
  waiting,
};

const char* to_string(slot_phase phase);

/// One port of the pool and the container serving it.
struct slot {
  slot_phase phase = slot_phase::creating;
  container_actor actor;
  std::string container_id;
  /// Unique per container incarnation across all slots; stale timers and
  /// replies carry an older one.
  uint64_t generation = 0;
  /// Replacements so far.
  uint32_t restarts = 0;
  /// Consecutive failures without becoming ready (drives the backoff).
  uint32_t streak = 0;
  /// Scale-down chose it: remove, do not replace.
  bool leaving = false;
  std::string last_error;
  /// A die event for a container whose id was not known yet.
  std::string early_death;
  caf::actor_clock::time_point launched_at;
  int64_t since_ms = 0;
};

/// What the supervisor needs besides its runtime and prober.
struct supervisor_config {
  pool_settings pool;
  health_settings health;
  restart_settings restart;
  scaling_settings scaling;
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
struct retiring_container {
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
  uint64_t next_generation = 1;
  balancer_actor balancer;
  health_checker_actor health;
  scaler_actor scaler;
  /// Container actors still removing a container that released its slot
  /// (renamed after a kill); shutdown waits for them too.
  std::vector<retiring_container> retiring;
  /// Lifecycle events since start by name, deaths by exit class, and the
  /// latest events themselves (at most max_events, oldest first).
  std::map<std::string, uint64_t> event_counts;
  std::map<std::string, uint64_t> deaths;
  std::deque<lifecycle_event> events;
  static constexpr size_t max_events = 200;
  bool shutting_down = false;
  std::vector<caf::typed_response_promise<bool>> shutdown_waiters;

  static inline const char* name = "supervisor";
};

/// Spawns-as: brings the pool to min_containers on consecutive ports from
/// start_port, replaces a container that dies or fails its health check on
/// the same port (at once the first time, then with exponential backoff while
/// replacements keep failing before becoming ready), follows the scaler's
/// decisions (lowest free ports up, highest ports drained first), and on
/// shutdown stops and removes (or keeps) every container. Every lifecycle
/// event is counted and kept in a short log for the admin endpoint.
supervisor_actor::behavior_type
supervisor(metered_pointer<supervisor_actor, supervisor_state> self, supervisor_config cfg,
           std::shared_ptr<container_runtime> runtime, std::shared_ptr<prober> probes);

/// The exit class of a death the engine reported (corral_container_deaths_total):
/// clean (0), error (1-127), signal (128 and up), oom.
const char* exit_class(int32_t exit_code, bool oom);

} // namespace corral
