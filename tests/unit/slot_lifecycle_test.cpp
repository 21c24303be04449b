// The slot life cycle as a table: every (phase, event) the supervisor can
// meet, and what it must do. One row per transition; a row that is not in
// the table is ignored, and a test checks that too.
#include "actors/slot_lifecycle.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <string>

using namespace corral;
using namespace std::chrono_literals;
using P = slot_phase;
using E = slot_event;
using A = slot_action;

namespace {

struct row {
  P phase;
  bool leaving;
  E event;
  P next;
  std::vector<A> actions;
};

// Restart settings for every row: the first failure of a container is
// replaced at once (streak 1), later ones after a backoff.
const restart_settings restart{1000ms, 30000ms};

std::string describe(const row& r) {
  std::ostringstream out;
  out << to_string(r.phase) << (r.leaving ? " (leaving)" : "") << " + " << to_string(r.event);
  return out.str();
}

std::string render(const std::vector<A>& actions) {
  std::string out;
  for (auto a : actions)
    out += std::string{out.empty() ? "" : ", "} + to_string(a);
  return "[" + out + "]";
}

// clang-format off
const std::vector<row> table{
  // A new container: created, started, probed until it passes.
  {P::creating, false, E::started,        P::starting, {A::watch}},
  {P::creating, false, E::start_failed,   P::creating, {}},
  {P::creating, false, E::start_refused,  P::failed,   {}},
  {P::creating, false, E::retire,         P::stopping, {A::stop}},
  {P::creating, false, E::gone,           P::creating, {A::launch}},
  {P::creating, true,  E::gone,           P::creating, {A::erase}},
  {P::creating, false, E::shutdown,       P::stopping, {A::stop}},
  {P::starting, false, E::healthy,        P::ready,    {A::route_up}},
  {P::starting, false, E::unhealthy,      P::stopping, {A::route_down, A::unwatch, A::kill}},
  {P::starting, false, E::retire,         P::stopping, {A::route_down, A::unwatch, A::stop}},
  {P::starting, false, E::gone,           P::creating, {A::route_down, A::unwatch, A::launch}},
  {P::starting, false, E::shutdown,       P::stopping, {A::route_down, A::unwatch, A::stop}},
  // An earlier run's container: one passing probe and it serves, untouched.
  {P::adopting, false, E::healthy,        P::ready,    {A::route_up}},
  {P::adopting, false, E::unhealthy,      P::stopping, {A::route_down, A::unwatch, A::kill}},
  {P::adopting, false, E::retire,         P::stopping, {A::route_down, A::unwatch, A::stop}},
  {P::adopting, false, E::gone,           P::creating, {A::route_down, A::unwatch, A::launch}},
  {P::adopting, false, E::shutdown,       P::stopping, {A::route_down, A::unwatch, A::stop}},
  // Serving.
  {P::ready,    false, E::suspect,        P::checking, {A::recheck}},
  {P::ready,    false, E::unhealthy,      P::stopping, {A::route_down, A::unwatch, A::kill}},
  {P::ready,    false, E::retire,         P::draining, {A::drain}},
  {P::ready,    false, E::gone,           P::creating, {A::route_down, A::unwatch, A::launch}},
  {P::ready,    false, E::shutdown,       P::stopping, {A::route_down, A::unwatch, A::stop}},
  {P::checking, false, E::healthy,        P::ready,    {A::route_up}},
  {P::checking, false, E::unhealthy,      P::stopping, {A::route_down, A::unwatch, A::kill}},
  {P::checking, false, E::retire,         P::draining, {A::drain}},
  {P::checking, false, E::gone,           P::creating, {A::route_down, A::unwatch, A::launch}},
  {P::checking, false, E::shutdown,       P::stopping, {A::route_down, A::unwatch, A::stop}},
  // Leaving: drained, then stopped; kept after all when the pool grows again.
  {P::draining, true,  E::drained,        P::stopping, {A::unwatch, A::stop}},
  {P::draining, true,  E::keep,           P::ready,    {A::route_up}},
  {P::draining, true,  E::unhealthy,      P::stopping, {A::route_down, A::unwatch, A::kill}},
  {P::draining, true,  E::gone,           P::draining, {A::route_down, A::unwatch, A::erase}},
  {P::draining, true,  E::shutdown,       P::stopping, {A::route_down, A::unwatch, A::stop}},
  // Its container on the way out.
  {P::stopping, false, E::released,       P::creating, {A::launch}},
  {P::stopping, false, E::gone,           P::creating, {A::launch}},
  {P::stopping, true,  E::released,       P::stopping, {A::erase}},
  {P::stopping, true,  E::gone,           P::stopping, {A::erase}},
  {P::stopping, false, E::retire,         P::stopping, {}},
  {P::stopping, false, E::shutdown,       P::stopping, {}},
  // No container.
  {P::backoff,  false, E::backoff_passed, P::creating, {A::launch}},
  {P::backoff,  false, E::retry,          P::creating, {A::launch}},
  {P::backoff,  false, E::retire,         P::backoff,  {A::erase}},
  {P::backoff,  false, E::shutdown,       P::backoff,  {A::erase}},
  {P::failed,   false, E::retry,          P::creating, {A::launch}},
  {P::failed,   false, E::gone,           P::failed,   {}},
  {P::failed,   false, E::retire,         P::failed,   {A::erase}},
  {P::failed,   false, E::shutdown,       P::failed,   {A::erase}},
};
// clang-format on

} // namespace

TEST(slot_lifecycle, every_transition_of_the_table) {
  for (auto& r : table) {
    slot_facts facts;
    facts.phase = r.phase;
    facts.leaving = r.leaving;
    auto step = next_step(facts, r.event, restart, false);
    EXPECT_FALSE(step.ignored) << describe(r);
    EXPECT_EQ(step.facts.phase, r.next)
      << describe(r) << ": went to " << to_string(step.facts.phase);
    EXPECT_EQ(step.actions, r.actions)
      << describe(r) << ": did " << render(step.actions) << ", wanted " << render(r.actions);
  }
}

TEST(slot_lifecycle, every_other_pair_is_ignored_and_changes_nothing) {
  std::set<std::pair<P, E>> listed;
  for (auto& r : table)
    listed.insert({r.phase, r.event});
  // draining ignores `drained` when it was kept meanwhile (tested below).
  listed.insert({P::draining, E::drained});
  int ignored = 0;
  for (int p = 0; p <= static_cast<int>(P::failed); ++p)
    for (int e = 0; e <= static_cast<int>(E::shutdown); ++e) {
      auto phase = static_cast<P>(p);
      auto event = static_cast<E>(e);
      if (listed.count({phase, event}))
        continue;
      slot_facts facts;
      facts.phase = phase;
      auto step = next_step(facts, event, restart, false);
      EXPECT_TRUE(step.ignored) << to_string(phase) << " + " << to_string(event);
      EXPECT_EQ(step.facts, facts) << to_string(phase) << " + " << to_string(event);
      EXPECT_TRUE(step.actions.empty()) << to_string(phase) << " + " << to_string(event);
      ++ignored;
    }
  EXPECT_GT(ignored, 50);
}

TEST(slot_lifecycle, a_drain_that_ends_after_the_slot_was_kept_changes_nothing) {
  slot_facts facts;
  facts.phase = P::draining;
  facts.leaving = false; // `keep` came first
  EXPECT_TRUE(next_step(facts, E::drained, restart, false).ignored);
}

TEST(slot_lifecycle, retire_marks_the_slot_leaving_so_it_is_never_replaced) {
  slot_facts facts;
  facts.phase = P::ready;
  auto draining = next_step(facts, E::retire, restart, false);
  EXPECT_TRUE(draining.facts.leaving);
  auto stopping = next_step(draining.facts, E::drained, restart, false);
  auto gone = next_step(stopping.facts, E::gone, restart, false);
  EXPECT_EQ(gone.actions, std::vector<A>{A::erase});
  EXPECT_FALSE(gone.replaced);
}

TEST(slot_lifecycle, failures_before_ready_back_off_and_a_pass_resets_the_streak) {
  slot_facts facts;
  facts.phase = P::ready;
  // Serving, then killed: replaced at once (streak 1).
  auto s = next_step(facts, E::unhealthy, restart, false);
  s = next_step(s.facts, E::released, restart, false);
  EXPECT_EQ(s.facts.phase, P::creating);
  EXPECT_TRUE(s.replaced);
  EXPECT_EQ(s.facts.restarts, 1u);
  // Its replacement fails to start twice: 1 s, then 2 s.
  std::vector<std::chrono::milliseconds> delays;
  for (int i = 0; i < 2; ++i) {
    s = next_step(s.facts, E::start_failed, restart, false);
    s = next_step(s.facts, E::gone, restart, false);
    ASSERT_EQ(s.facts.phase, P::backoff);
    ASSERT_EQ(s.actions, std::vector<A>{A::schedule_restart});
    delays.push_back(s.delay);
    s = next_step(s.facts, E::backoff_passed, restart, false);
  }
  EXPECT_EQ(delays, (std::vector<std::chrono::milliseconds>{1000ms, 2000ms}));
  EXPECT_EQ(s.facts.restarts, 3u);
  s = next_step(s.facts, E::started, restart, false);
  s = next_step(s.facts, E::healthy, restart, false);
  EXPECT_EQ(s.facts.streak, 0u);
  EXPECT_EQ(s.facts.restarts, 3u);
}

TEST(slot_lifecycle, a_refused_start_is_not_retried_until_asked) {
  slot_facts facts;
  auto s = next_step(facts, E::start_refused, restart, false);
  s = next_step(s.facts, E::gone, restart, false);
  EXPECT_EQ(s.facts.phase, P::failed);
  EXPECT_TRUE(s.actions.empty());
  EXPECT_TRUE(next_step(s.facts, E::backoff_passed, restart, false).ignored);
  EXPECT_EQ(next_step(s.facts, E::retry, restart, false).actions, std::vector<A>{A::launch});
}

TEST(slot_lifecycle, shutdown_leaves_containers_running_with_on_exit_keep) {
  for (auto phase : {P::creating, P::starting, P::ready, P::checking, P::draining}) {
    slot_facts facts;
    facts.phase = phase;
    auto s = next_step(facts, E::shutdown, restart, true);
    EXPECT_EQ(s.actions.back(), A::detach) << to_string(phase);
    EXPECT_TRUE(s.facts.shutting_down);
    // Whatever ends then is never replaced.
    EXPECT_EQ(next_step(s.facts, E::gone, restart, true).actions, std::vector<A>{A::erase});
  }
}
