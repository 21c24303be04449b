// All typed actor interfaces of corral, in one place (the VAST convention).
// Listener interfaces are narrow on purpose: an actor that reports to the
// supervisor only sees the part it may send, and unit tests fake just that.
#pragma once

#include "actors/atoms.hpp"
#include "actors/messages.hpp"
#include "runtime/prober.hpp"

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace corral {

/// What the BALANCER tells the pool's owner.
using balancer_listener_actor = caf::typed_actor<
  // The proxy could not reach this port; it has left the rotation.
  caf::reacts_to<atom::suspect, uint16_t>,
  // The first request was proxied (opens the first scaling window).
  caf::reacts_to<atom::traffic>>;

/// The BALANCER actor interface.
using balancer_actor = caf::typed_actor<
  // The proxy's batched ask: hands out ports in strict round robin and
  // settles the ports it handed out before.
  caf::reacts_to<atom::next, port_ask>,
  // A container passed its first probe: route to it.
  caf::reacts_to<atom::up, uint16_t>,
  // Stop routing to a port at once.
  caf::reacts_to<atom::down, uint16_t>,
  // Stop routing to a port; answers true once its in-flight requests
  // finished, false when the timeout came first.
  caf::replies_to<atom::drain, uint16_t, caf::timespan>::with<bool>,
  // Returns the fresh requests proxied since the last call, and resets.
  caf::replies_to<atom::count>::with<uint64_t>,
  // Returns the rotation and counters.
  caf::replies_to<caf::get_atom, atom::status>::with<balancer_status>,
  // New queue bounds and passive threshold.
  caf::reacts_to<atom::reload, balancer_settings>,
  // INTERNAL: a drain's deadline passed.
  caf::reacts_to<caf::timeout_atom, uint16_t, uint64_t>,
  // INTERNAL: a waiting ask's deadline passed (ask id).
  caf::reacts_to<caf::timeout_atom, uint64_t>>;

/// What the HEALTH CHECKER tells the pool's owner (transitions only).
using health_listener_actor = caf::typed_actor<
  // A starting or suspect container passed `healthy_after` probes in a row.
  caf::reacts_to<atom::healthy, uint16_t, std::string>,
  // A container failed `unhealthy_after` probes in a row, or did not become
  // ready within the start timeout. Carries the last probe's reason.
  caf::reacts_to<atom::unhealthy, uint16_t, std::string, std::string>>;

/// The HEALTH CHECKER actor interface.
using health_checker_actor = caf::typed_actor<
  // Probes a container (port, container id) until it passes: a freshly
  // started one, or (adopting) an earlier run's, whose failures count at once.
  caf::reacts_to<atom::watch, uint16_t, std::string, bool>,
  // Stops probing a port.
  caf::reacts_to<atom::unwatch, uint16_t>,
  // Treats a ready port as starting again: fast probes, and it must pass
  // again before it is reported healthy.
  caf::reacts_to<atom::recheck, uint16_t>,
  // INTERNAL: the fault check interval passed (probe ready containers).
  caf::reacts_to<caf::tick_atom>,
  // INTERNAL: the start interval passed (probe starting containers).
  caf::reacts_to<atom::fast_tick>,
  // Returns the probe counters and the latest probe per watched port.
  caf::replies_to<caf::get_atom, atom::status>::with<health_status>,
  // New probe settings, from the next probe on.
  caf::reacts_to<atom::reload, health_settings>,
  // INTERNAL: a probe finished (port, probe generation, result).
  caf::reacts_to<atom::probe, uint16_t, uint64_t, probe_result>>;

/// What a CONTAINER actor tells the pool's owner. Besides these messages, the
/// owner monitors it: its termination means the container is gone.
using container_listener_actor = caf::typed_actor<
  // The container (port, id) runs; probing may begin.
  caf::reacts_to<atom::started, uint16_t, std::string>,
  // The container could not be created or started (port, reason, whether
  // another attempt may succeed).
  caf::reacts_to<atom::start_failed, uint16_t, std::string, bool>,
  // A killed container gave up its slot's name (it was renamed) and is
  // being removed: the slot's replacement may be created now.
  caf::reacts_to<atom::released, uint16_t>>;

/// The CONTAINER actor interface: one container of one slot, from create to
/// remove. It makes blocking runtime calls, so it runs detached. An exit
/// message makes it quit and leave its container as it is (on_exit = keep).
using container_actor = caf::typed_actor<
  // INTERNAL: create and start the container.
  caf::reacts_to<atom::launch>,
  // Stops the container (SIGTERM, then SIGKILL after the grace period),
  // removes it and quits.
  caf::reacts_to<atom::stop>,
  // Kills and removes the container at once, and quits.
  caf::reacts_to<atom::kill>>;

/// The SCALER actor interface.
using scaler_actor = caf::typed_actor<
  // The first request was proxied: opens the first window (if it waits).
  caf::reacts_to<atom::traffic>,
  // Returns the windows and decisions so far.
  caf::replies_to<caf::get_atom, atom::status>::with<scaler_status>,
  // New scaling settings and bounds, from the next window on.
  caf::reacts_to<atom::reload, scaling_settings, uint32_t, uint32_t>,
  // INTERNAL: a scaling window ended (window id).
  caf::reacts_to<caf::tick_atom, uint64_t>>;

/// What the SCALER tells the pool's owner.
using scale_listener_actor = caf::typed_actor<
  // Asks for `n` containers; answers the size the pool heads for.
  caf::replies_to<atom::scale, uint32_t>::with<uint32_t>>;

/// The SUPERVISOR actor interface: owns the slots and their restarts.
using supervisor_actor = caf::typed_actor<
  // A pool container died, as the events feed saw it
  // (port, container id, exit code, out of memory).
  caf::reacts_to<atom::died, uint16_t, std::string, int32_t, bool>,
  // The events feed reconnected: the pool's containers as the engine sees
  // them now, since missed events are not replayed.
  caf::reacts_to<atom::resync, std::vector<observed_container>>,
  // Returns the actors it spawned, for the proxy and the admin endpoint.
  caf::replies_to<caf::get_atom, atom::helpers>::with<balancer_actor, health_checker_actor,
                                                      scaler_actor>,
  // Returns the slots, for the admin endpoint.
  caf::replies_to<caf::get_atom, atom::status>::with<pool_status>,
  // Applies a reloaded config: settings at once, a new container spec by a
  // rolling update.
  caf::reacts_to<atom::reload, pool_update>,
  // (true) Stops managing the pool while a successor corral takes it over:
  // routing goes on, nothing is replaced, scaled or rolled; (false) resumes.
  caf::reacts_to<atom::freeze, bool>,
  // Stops probing and scaling, then stops every container and removes it,
  // or (true) leaves it running for a later corral to adopt; answers once
  // every container actor is gone.
  caf::replies_to<atom::shutdown, bool>::with<bool>,
  // INTERNAL: a slot's restart backoff passed (port, slot generation).
  caf::reacts_to<atom::restart, uint16_t, uint64_t>>
  ::extend_with<balancer_listener_actor>
  ::extend_with<health_listener_actor>
  ::extend_with<container_listener_actor>
  ::extend_with<scale_listener_actor>;

} // namespace corral
