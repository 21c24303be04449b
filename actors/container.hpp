// A CONTAINER actor: one container of one slot, from create to remove.
#pragma once

#include "actors/actors.hpp"
#include "actors/metered_actor.hpp"
#include "actors/settings.hpp"
#include "runtime/container_runtime.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <memory>
#include <string>

namespace corral {

struct container_state {
  container_spec spec;
  std::shared_ptr<container_runtime> runtime;
  container_listener_actor listener;
  /// Empty until the container was created.
  std::string id;

  static inline const char* name = "container";
};

/// What corral asks the runtime for, for the slot on `port`: the name
/// `<pool>-<port>`, the image `image_id`, the pool's labels (owner, and the
/// spec's fingerprint as corral.spec), env PORT, the shared volume.
container_spec make_container_spec(const pool_settings& pool, const std::string& image_id,
                                   const std::string& owner, uint16_t port);

/// Spawns-as: creates and starts the container of `spec` (reporting started
/// or start_failed to `listener`), then waits to be stopped or killed, which
/// also removes it; a kill renames the container first and reports released,
/// so the slot's name is free before the engine finished the removal. Quits
/// when its container is gone or could not start. Its runtime calls block,
/// so production code spawns it detached. With `adopted_id`, it takes over
/// that running container instead of creating one, and reports nothing until
/// asked to stop or kill it. Measures itself into `census` as role
/// "container" with its port.
container_actor::behavior_type
container(metered_pointer<container_actor, container_state> self,
          container_listener_actor listener, std::shared_ptr<container_runtime> runtime,
          container_spec spec, std::string adopted_id,
          std::shared_ptr<metrics::actor_census> census);

} // namespace corral
