// Detection and replacement of injected faults (see fault_tracker.hpp).
#include "tools/chaos/fault_tracker.hpp"

#include "tools/common/clock.hpp"

#include <algorithm>

namespace corral::chaos {

const char* to_string(fault_kind kind) {
  switch (kind) {
    case fault_kind::kill:
      return "kill";
    case fault_kind::crash:
      return "crash";
  }
  return "unknown";
}

std::optional<double> fault::detection_ms() const {
  if (!detected)
    return std::nullopt;
  return ms_between(injected, *detected);
}

std::optional<double> fault::replacement_ms() const {
  if (!replaced)
    return std::nullopt;
  return ms_between(injected, *replaced);
}

std::vector<std::pair<std::string, double>> fault::phases_ms() const {
  std::vector<std::pair<std::string, double>> phases;
  if (!replaced)
    return phases;
  for (std::size_t i = 0; i + 1 < path.size(); ++i)
    phases.emplace_back(path[i].first, ms_between(path[i].second, path[i + 1].second));
  return phases;
}

uint64_t fault_tracker::open(fault_kind kind, uint16_t port, std::string container,
                             clock::time_point injected) {
  fault f;
  f.id = next_id_++;
  f.kind = kind;
  f.port = port;
  f.container = std::move(container);
  f.injected = injected;
  faults_.push_back(std::move(f));
  return faults_.back().id;
}

void fault_tracker::cancel(uint64_t id) {
  std::erase_if(faults_, [id](const fault& f) { return f.id == id; });
}

std::vector<fault_progress> fault_tracker::observe(const pool_view& view,
                                                   clock::time_point requested_at,
                                                   clock::time_point answered_at) {
  std::vector<fault_progress> progress;
  for (auto& f : faults_) {
    if (f.replaced || f.injected > requested_at)
      continue;
    auto* slot = view.find(f.port);
    bool victim_still_ready = slot != nullptr && slot->ready() && slot->container == f.container;
    bool replacement_ready = slot != nullptr && slot->ready() && !slot->container.empty()
                             && slot->container != f.container;
    fault_progress step;
    if (!f.detected && !victim_still_ready) {
      // A replacement that became ready between two polls also counts as
      // detected: the change happened, this is the first time it was seen.
      f.detected = answered_at;
      step.detected_now = true;
    }
    if (replacement_ready) {
      f.replaced = answered_at;
      f.replacement = slot->container;
      step.replaced_now = true;
    }
    if (f.detected) {
      auto state = slot != nullptr ? slot->state : std::string{"gone"};
      if (f.path.empty() || f.path.back().first != state)
        f.path.emplace_back(std::move(state), answered_at);
    }
    if (step.detected_now || step.replaced_now) {
      step.snapshot = f;
      progress.push_back(std::move(step));
    }
  }
  return progress;
}

std::set<uint16_t> fault_tracker::busy_ports() const {
  std::set<uint16_t> ports;
  for (auto& f : faults_)
    if (!f.replaced)
      ports.insert(f.port);
  return ports;
}

std::size_t fault_tracker::open_count() const {
  return static_cast<std::size_t>(
    std::count_if(faults_.begin(), faults_.end(), [](const fault& f) { return !f.replaced; }));
}

std::vector<slot_view> eligible_victims(const pool_view& view,
                                        const std::set<uint16_t>& busy) {
  std::vector<slot_view> victims;
  for (auto& s : view.slots)
    if (s.ready() && !s.container.empty() && !busy.contains(s.port))
      victims.push_back(s);
  return victims;
}

} // namespace corral::chaos
