// The HEALTH CHECKER: probes every starting and ready container and reports
// transitions (healthy, unhealthy) to the supervisor, like Envoy's checker.
#pragma once

#include "actors/actors.hpp"
#include "actors/health_policy.hpp"
#include "actors/metered_actor.hpp"
#include "actors/settings.hpp"
#include "runtime/prober.hpp"

#include <caf/actor_clock.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <array>
#include <chrono>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
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
  /// The latest probe of this container: its outcome, latency, unix ms.
  std::optional<probe_outcome> last_outcome;
  std::chrono::nanoseconds last_latency{0};
  int64_t last_at_ms = 0;
};

struct health_checker_state {
  health_settings settings;
  std::shared_ptr<prober> probes;
  health_listener_actor listener;
  std::map<uint16_t, health_target> targets;
  uint64_t next_probe_id = 1;
  /// The fast tick runs only while some container is starting or suspect.
  bool fast_armed = false;
  /// Probes per port by outcome (index: probe_outcome), kept across the
  /// port's containers so the counters never go back.
  std::map<uint16_t, std::array<uint64_t, std::size(probe_outcomes)>> probes_by_port;
  metrics::duration_histogram probe_latency;
  uint64_t became_healthy = 0;
  uint64_t became_unhealthy = 0;
  /// When a local failure was last logged (at most one line per 10 s).
  caf::actor_clock::time_point last_local_warning;

  static inline const char* name = "health_checker";
};

/// Spawns-as: probes ready containers every `interval` and starting or suspect
/// ones every `start_interval`, each probe with its own timeout through
/// `probes`, so one hung container never delays another. Reports to
/// `listener` only when a container crosses a threshold. Counts every probe
/// by outcome and times it.
health_checker_actor::behavior_type
health_checker(metered_pointer<health_checker_actor, health_checker_state> self,
               health_listener_actor listener, std::shared_ptr<prober> probes,
               health_settings settings, std::shared_ptr<metrics::actor_census> census);

} // namespace corral
