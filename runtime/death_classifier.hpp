// Which of the engine's events are deaths of a pool container, and which of
// those the kernel's OOM killer caused.
#pragma once

#include "runtime/container_runtime.hpp"

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

namespace corral {

/// A pool container's death as corral reports it.
struct container_death {
  uint16_t port = 0;
  std::string id;
  /// The exit code of the `die` event (137 after SIGKILL).
  int exit_code = -1;
  /// The kernel killed it for memory (its cgroup's limit was reached).
  bool oom = false;
};

/// The engine tells of a container the kernel killed for memory twice: an
/// `oom` event (sent too when only a child process was killed and the
/// container lives on), then `die` with exit code 137. So an `oom` event is
/// no death by itself: it is remembered, and the `die` that follows counts
/// once, as oom. When the `oom` event was missed (the stream was
/// reconnecting), a `die` with exit code 137 asks the engine, whose
/// State.OOMKilled tells. Runs on the events feed's thread; not thread-safe.
class death_classifier {
public:
  explicit death_classifier(container_runtime& runtime) : runtime_(runtime) {
  }

  /// The death `event` reports; nullopt for any other event.
  std::optional<container_death> classify(const runtime_event& event);

private:
  bool remembered_oom(const std::string& id, bool forget);

  container_runtime& runtime_;
  /// Containers with an `oom` event and no `die` yet, oldest first; bounded,
  /// since a container whose child was killed may never die.
  std::deque<std::string> oom_ids_;
};

} // namespace corral
