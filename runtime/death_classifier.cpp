// death_classifier: `oom` and `die` events into one death each.
#include "runtime/death_classifier.hpp"

#include "log/log.hpp"

#include <algorithm>

namespace corral {

namespace {

/// The exit code of a process killed by SIGKILL, which is how the OOM killer
/// ends a process.
constexpr int killed_exit_code = 128 + 9;

/// Containers remembered with an `oom` event and no `die` yet.
constexpr size_t max_remembered = 256;

std::string_view short_id(const std::string& id) {
  return std::string_view{id}.substr(0, 12);
}

} // namespace

bool death_classifier::remembered_oom(const std::string& id, bool forget) {
  auto i = std::find(oom_ids_.begin(), oom_ids_.end(), id);
  if (i == oom_ids_.end())
    return false;
  if (forget)
    oom_ids_.erase(i);
  return true;
}

std::optional<container_death> death_classifier::classify(const runtime_event& event) {
  if (event.what == runtime_event::kind::oom) {
    log::warn("events", "out of memory: the kernel killed a process of the container",
              {{"port", event.port}, {"container", short_id(event.id)}});
    if (!remembered_oom(event.id, false)) {
      oom_ids_.push_back(event.id);
      if (oom_ids_.size() > max_remembered)
        oom_ids_.pop_front();
    }
    return std::nullopt;
  }
  if (event.what != runtime_event::kind::die)
    return std::nullopt;
  container_death death{event.port, event.id, event.exit_code, false};
  death.oom = remembered_oom(event.id, true);
  if (!death.oom && event.exit_code == killed_exit_code) {
    // A kill corral or an operator sent looks the same from the outside.
    if (auto info = runtime_.inspect(event.id))
      death.oom = info->oom_killed;
  }
  return death;
}

} // namespace corral
