// Health thresholds and transitions, like Envoy's per-host health session.
// Pure; the health checker keeps one per watched container.
#pragma once

#include <cstdint>

namespace corral {

/// Where a watched container stands.
enum class health_phase : uint8_t {
  /// Just started: failures are expected until it listens; only passes count.
  starting,
  /// Passed before; receives traffic; failures count toward unhealthy.
  ready,
  /// Was ready, then the proxy could not reach it: out of the rotation until
  /// it passes again; failures count toward unhealthy.
  suspect,
  /// Reported unhealthy; no more reports until watched afresh.
  failed,
};

/// What one probe result changed.
enum class health_transition : uint8_t { none, became_healthy, became_unhealthy };

/// Consecutive pass/fail counting with Envoy's two thresholds.
struct health_track {
  health_phase phase = health_phase::starting;
  uint32_t passes = 0;
  uint32_t failures = 0;

  /// Records one probe; returns a transition once per crossing.
  health_transition record(bool passed, uint32_t healthy_after, uint32_t unhealthy_after) {
    if (phase == health_phase::failed)
      return health_transition::none;
    if (passed) {
      failures = 0;
      if (phase == health_phase::ready)
        return health_transition::none;
      if (++passes >= healthy_after) {
        phase = health_phase::ready;
        passes = 0;
        return health_transition::became_healthy;
      }
      return health_transition::none;
    }
    passes = 0;
    if (phase == health_phase::starting)
      return health_transition::none; // the start timeout decides instead
    if (++failures >= unhealthy_after) {
      phase = health_phase::failed;
      return health_transition::became_unhealthy;
    }
    return health_transition::none;
  }

  /// Takes a ready container out until it passes again.
  void suspect() {
    if (phase == health_phase::ready) {
      phase = health_phase::suspect;
      passes = 0;
    }
  }
};

} // namespace corral
