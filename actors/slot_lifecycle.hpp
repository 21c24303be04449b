// A slot's life cycle as one pure function: (facts, event) -> (next facts,
// actions), like Nomad's restart tracker. The supervisor keeps the facts of
// each slot and carries out the actions; every transition is decided here and
// tested as a table (tests/unit/slot_lifecycle_test.cpp). No CAF.
#pragma once

#include "actors/settings.hpp"

#include <chrono>
#include <cstdint>
#include <string_view>
#include <vector>

namespace corral {

/// Where a slot's current container is (DESIGN.md's life cycle, plus
/// adoption and start errors that a retry cannot fix).
enum class slot_phase : uint8_t {
  /// A container actor creates and starts a new container.
  creating,
  /// A container an earlier corral left running: probed once before it
  /// takes traffic, replaced when the probe fails.
  adopting,
  /// Running; probed until its first pass.
  starting,
  /// In the balancer's rotation.
  ready,
  /// Out of the rotation after the proxy could not reach it; re-probed.
  checking,
  /// Leaving: out of the rotation, finishing its requests in flight.
  draining,
  /// Its container is being stopped or killed and removed.
  stopping,
  /// No container: the restart backoff runs.
  backoff,
  /// No container, and no retry: the last start failed for a reason a
  /// retry cannot fix (the image is missing, the engine refuses the
  /// container's settings). A reload tries again.
  failed,
};

const char* to_string(slot_phase phase);

/// What happens to a slot.
enum class slot_event : uint8_t {
  /// The container actor created and started the container.
  started,
  /// It could not, for a reason a retry may fix (the daemon is away).
  start_failed,
  /// It could not, and retrying cannot help.
  start_refused,
  /// The health checker: the container passed (its first probe, a re-check).
  healthy,
  /// The health checker: it failed, or was not ready within the start
  /// timeout. Also the events feed: it died.
  unhealthy,
  /// The balancer: the proxy could not reach it.
  suspect,
  /// Scale-down or a rollout: leave the pool (drain, then stop).
  retire,
  /// Scale-up while it drains: stay after all.
  keep,
  /// The balancer: its requests in flight finished (or the drain timed out).
  drained,
  /// The container actor renamed a killed container: the slot's name is
  /// free, the removal goes on without the slot.
  released,
  /// The container actor ended: its container is gone (or was never made).
  gone,
  /// The restart backoff passed.
  backoff_passed,
  /// Try again now: the daemon answers again, or a reload.
  retry,
  /// corral exits.
  shutdown,
};

const char* to_string(slot_event event);

/// What the supervisor does for a transition, in this order.
enum class slot_action : uint8_t {
  /// Take the port out of the rotation (before anything may stop it).
  route_down,
  /// Stop probing the container.
  unwatch,
  /// Probe the started container until it passes.
  watch,
  /// Re-probe a suspect container.
  recheck,
  /// Add the port to the rotation.
  route_up,
  /// Ask the balancer to drain the port; it answers with `drained`.
  drain,
  /// Container actor: SIGTERM, grace, remove.
  stop,
  /// Container actor: kill and remove (renaming first, then `released`).
  kill,
  /// Container actor: quit and leave the container running (on_exit keep,
  /// or a successor corral takes the pool over).
  detach,
  /// Spawn a container actor that creates a new container.
  launch,
  /// Arm the backoff timer (`slot_step::delay`).
  schedule_restart,
  /// The slot is gone from the pool.
  erase,
};

const char* to_string(slot_action action);

/// What the table reads about a slot and updates.
struct slot_facts {
  slot_phase phase = slot_phase::creating;
  /// Chosen to leave (scale-down, rollout): removed, not replaced.
  bool leaving = false;
  /// corral exits: nothing is replaced.
  bool shutting_down = false;
  /// Replacements so far.
  uint32_t restarts = 0;
  /// Consecutive failures without becoming ready (drives the backoff).
  uint32_t streak = 0;

  bool operator==(const slot_facts&) const = default;
};

/// One transition's outcome.
struct slot_step {
  slot_facts facts;
  std::vector<slot_action> actions;
  /// For schedule_restart.
  std::chrono::milliseconds delay{0};
  /// The event means nothing in this phase (a stale or late message).
  bool ignored = false;
  /// A new container was launched to replace a failed one (a restart).
  bool replaced = false;
};

/// What `event` does to a slot with `facts`. `keep_on_exit` decides the
/// shutdown action (leave or stop); `restart` the backoff.
slot_step next_step(const slot_facts& facts, slot_event event,
                    const restart_settings& restart, bool keep_on_exit);

} // namespace corral
