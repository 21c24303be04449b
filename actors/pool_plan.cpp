// Planning the pool's next moves: scaling and rolling updates as one rule.
#include "actors/pool_plan.hpp"

#include <algorithm>

namespace corral {

namespace {

bool has_container(slot_phase phase) {
  return phase != slot_phase::backoff && phase != slot_phase::failed;
}

} // namespace

pool_moves plan_pool(const std::vector<slot_view>& slots, const pool_goal& goal) {
  pool_moves moves;
  const uint32_t home_end = uint32_t{goal.start_port} + goal.size;
  auto is_home = [&](uint16_t port) { return port >= goal.start_port && port < home_end; };
  auto sorted = slots;
  std::sort(sorted.begin(), sorted.end(),
            [](const slot_view& a, const slot_view& b) { return a.port < b.port; });

  std::set<uint16_t> taken;
  uint32_t members = 0;
  uint32_t ready = 0;
  for (auto& s : sorted) {
    taken.insert(s.port);
    if (s.leaving)
      continue;
    ++members;
    ready += s.phase == slot_phase::ready ? 1 : 0;
  }
  const uint32_t min_ready = goal.size > goal.max_unavailable ? goal.size - goal.max_unavailable : 0;
  const uint32_t max_members = goal.size + goal.max_surge;

  // A draining slot of the goal's spec on a home port is warm: keep it
  // rather than start a new one.
  for (auto& s : sorted)
    if (members < goal.size && s.leaving && s.phase == slot_phase::draining
        && s.spec == goal.spec && is_home(s.port)) {
      moves.keep.push_back(s.port);
      ++members;
      ++ready;
    }

  // Every home port holds a slot.
  bool vacant_home = false;
  for (uint32_t p = goal.start_port; p < home_end; ++p) {
    auto port = static_cast<uint16_t>(p);
    if (taken.count(port))
      continue;
    if (members < max_members) {
      moves.launch.push_back(port);
      taken.insert(port);
      ++members;
    } else {
      vacant_home = true;
    }
  }

  // A rollout: home slots whose container runs another spec.
  std::vector<const slot_view*> old;
  for (auto& s : sorted)
    if (!s.leaving && is_home(s.port) && s.spec != goal.spec && has_container(s.phase))
      old.push_back(&s);
  if (!old.empty()) {
    // Surge: new slots right after the home ports, while the budget allows
    // and no home port waits for one.
    uint32_t candidate = home_end;
    while (!vacant_home && members < max_members && candidate <= 65535) {
      auto port = static_cast<uint16_t>(candidate++);
      if (taken.count(port))
        continue;
      moves.launch.push_back(port);
      taken.insert(port);
      ++members;
    }
    // Retire old slots: those not serving first (it costs nothing), then the
    // lowest ports, never below the ready slots the goal must keep.
    std::stable_partition(old.begin(), old.end(),
                          [](const slot_view* s) { return s->phase != slot_phase::ready; });
    for (auto* s : old) {
      if (s->phase == slot_phase::adopting) {
        continue; // its probe decides first: it may serve until replaced
      } else if (s->phase != slot_phase::ready) {
        moves.retire.push_back(s->port);
      } else if (ready > min_ready) {
        moves.retire.push_back(s->port);
        --ready;
      }
    }
    return moves;
  }

  // No rollout: slots past the home ports leave, highest first.
  for (auto s = sorted.rbegin(); s != sorted.rend(); ++s) {
    if (s->leaving || is_home(s->port))
      continue;
    if (s->phase != slot_phase::ready) {
      moves.retire.push_back(s->port);
    } else if (ready > min_ready) {
      moves.retire.push_back(s->port);
      --ready;
    }
  }
  return moves;
}

bool pool_settled(const std::vector<slot_view>& slots, const pool_goal& goal) {
  const uint32_t home_end = uint32_t{goal.start_port} + goal.size;
  uint32_t good = 0;
  for (auto& s : slots) {
    if (s.leaving || s.port < goal.start_port || s.port >= home_end || s.spec != goal.spec
        || s.phase != slot_phase::ready)
      return false;
    ++good;
  }
  return good == goal.size;
}

} // namespace corral
