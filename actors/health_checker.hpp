// The HEALTH CHECKER: probes every starting and ready container and reports
// transitions (healthy, unhealthy) to the supervisor, like Envoy's checker.
#pragma once

#include "actors/actors.hpp"
#include "actors/health_policy.hpp"
#include "actors/settings.hpp"
#include "runtime/prober.hpp"

#include <caf/actor_clock.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <map>
#include <memory>
#include <string>

namespace corral {

/// One watched container.
struct health_target {
  std::string container_id;
  health_track track;
  /// When probing began; the start timeout counts from here.
  caf::actor_clock::time_point watched_at;
  /// A probe is out; no second one starts until it returns.
  bool probing = false;
  /// Tells the answer to the current probe from a stale one.
  uint64_t probe_id = 0;
  std::string last_reason = "no probe answered yet";
};

struct health_checker_state {
  health_settings settings;
  std::shared_ptr<prober> probes;
  health_listener_actor listener;
  std::map<uint16_t, health_target> targets;
  uint64_t next_probe_id = 1;
  /// The fast tick runs only while some container is starting or suspect.
  bool fast_armed = false;

  static inline const char* name = "health_checker";
};

/// Spawns-as: probes ready containers every `interval` and starting or suspect
/// ones every `start_interval`, each probe with its own timeout through
/// `probes`, so one hung container never delays another. Reports to
/// `listener` only when a container crosses a threshold.
health_checker_actor::behavior_type
health_checker(health_checker_actor::stateful_pointer<health_checker_state> self,
               health_listener_actor listener, std::shared_ptr<prober> probes,
               health_settings settings);

} // namespace corral
