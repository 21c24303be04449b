// The pure decisions behind the actors: round robin, sizing, stabilisation,
// ports, backoff and health thresholds.
#include "actors/health_policy.hpp"
#include "actors/round_robin.hpp"
#include "actors/scaling_policy.hpp"
#include "actors/slot_policy.hpp"

#include <gtest/gtest.h>

#include <map>

using namespace corral;
using namespace std::chrono_literals;

namespace {

std::vector<uint16_t> take(round_robin& rr, int n) {
  std::vector<uint16_t> out;
  for (int i = 0; i < n; ++i)
    out.push_back(*rr.next());
  return out;
}

} // namespace

// -- round robin ------------------------------------------------------------------

TEST(round_robin, empty_rotation_has_no_next) {
  round_robin rr;
  EXPECT_FALSE(rr.next().has_value());
}

TEST(round_robin, hands_out_ports_in_ascending_order_and_wraps) {
  round_robin rr;
  rr.add(8002);
  rr.add(8000);
  rr.add(8001);
  EXPECT_EQ(take(rr, 7), (std::vector<uint16_t>{8000, 8001, 8002, 8000, 8001, 8002, 8000}));
}

TEST(round_robin, is_exactly_fair_over_whole_cycles) {
  round_robin rr;
  for (uint16_t p = 8000; p < 8005; ++p)
    rr.add(p);
  std::map<uint16_t, int> hits;
  for (auto port : take(rr, 500))
    ++hits[port];
  for (auto& [port, n] : hits)
    EXPECT_EQ(n, 100) << port;
}

TEST(round_robin, joining_backend_gets_its_turn_in_the_current_cycle) {
  round_robin rr;
  rr.add(8000);
  rr.add(8002);
  EXPECT_EQ(*rr.next(), 8000);
  rr.add(8001); // joins right after the cursor
  EXPECT_EQ(take(rr, 3), (std::vector<uint16_t>{8001, 8002, 8000}));
}

TEST(round_robin, leaving_backend_does_not_make_another_skip_or_repeat) {
  round_robin rr;
  rr.add(8000);
  rr.add(8001);
  rr.add(8002);
  EXPECT_EQ(*rr.next(), 8000);
  EXPECT_EQ(*rr.next(), 8001);
  rr.remove(8001); // the last one handed out leaves
  EXPECT_EQ(take(rr, 4), (std::vector<uint16_t>{8002, 8000, 8002, 8000}));
}

TEST(round_robin, duplicate_add_and_missing_remove_are_no_ops) {
  round_robin rr;
  EXPECT_TRUE(rr.add(8000));
  EXPECT_FALSE(rr.add(8000));
  EXPECT_FALSE(rr.remove(8001));
  EXPECT_EQ(rr.size(), 1u);
}

// -- sizing rule ------------------------------------------------------------------

TEST(desired_size, follows_requests_over_per_container_plus_one) {
  EXPECT_EQ(desired_size(0, 20, 1, 10), 1u);
  EXPECT_EQ(desired_size(19, 20, 1, 10), 1u);
  EXPECT_EQ(desired_size(20, 20, 1, 10), 2u);
  EXPECT_EQ(desired_size(39, 20, 1, 10), 2u);
  EXPECT_EQ(desired_size(40, 20, 1, 10), 3u);
  EXPECT_EQ(desired_size(45, 20, 1, 10), 3u);
}

TEST(desired_size, is_clamped_to_min_and_max) {
  EXPECT_EQ(desired_size(100000, 20, 1, 10), 10u);
  EXPECT_EQ(desired_size(200, 20, 1, 10), 10u); // 11 wanted
  EXPECT_EQ(desired_size(0, 20, 3, 10), 3u);
}

// -- stabilisers -------------------------------------------------------------------

TEST(scale_decider, plain_rule_follows_every_window) {
  scale_decider d{1, 0};
  EXPECT_EQ(d.decide(1, 3).target, 3u);
  EXPECT_EQ(d.decide(3, 1).target, 1u);
}

TEST(scale_decider, shrinks_only_after_the_lower_size_held_k_windows) {
  scale_decider d{3, 0};
  EXPECT_EQ(d.decide(5, 2).target, 5u);
  EXPECT_EQ(d.decide(5, 3).target, 5u);
  EXPECT_EQ(d.decide(5, 2).target, 3u); // the largest of the last three
}

TEST(scale_decider, a_busy_window_resets_the_stabilisation) {
  scale_decider d{2, 0};
  EXPECT_EQ(d.decide(4, 1).target, 4u);
  EXPECT_EQ(d.decide(4, 4).target, 4u);
  EXPECT_EQ(d.decide(4, 1).target, 4u);
  EXPECT_EQ(d.decide(4, 1).target, 1u);
}

TEST(scale_decider, growth_is_never_delayed) {
  scale_decider d{5, 0};
  EXPECT_EQ(d.decide(1, 4).target, 4u);
}

TEST(scale_decider, max_step_bounds_each_decision_both_ways) {
  scale_decider d{1, 2};
  EXPECT_EQ(d.decide(1, 9).target, 3u);
  EXPECT_EQ(d.decide(3, 9).target, 5u);
  EXPECT_EQ(d.decide(5, 1).target, 3u);
  EXPECT_EQ(d.decide(3, 1).target, 1u);
}

TEST(scale_decider, reasons_name_what_shaped_each_decision) {
  scale_decider stabilised{2, 0};
  auto waits = stabilised.decide(4, 1);
  EXPECT_EQ(waits.target, 4u);
  EXPECT_EQ(waits.reason, scale_reason::stabilising);
  auto shrinks = stabilised.decide(4, 1);
  EXPECT_EQ(shrinks.target, 1u);
  EXPECT_EQ(shrinks.reason, scale_reason::rule);
  // The largest of the recent windows, not this window's size: stabilised.
  scale_decider largest{2, 0};
  largest.decide(5, 3);
  auto partial = largest.decide(5, 2);
  EXPECT_EQ(partial.target, 3u);
  EXPECT_EQ(partial.reason, scale_reason::stabilising);
  scale_decider stepped{1, 2};
  auto capped = stepped.decide(1, 9);
  EXPECT_EQ(capped.target, 3u);
  EXPECT_EQ(capped.reason, scale_reason::step_limit);
  auto held = stepped.decide(3, 3);
  EXPECT_EQ(held.target, 3u);
  EXPECT_EQ(held.reason, scale_reason::rule);
}

TEST(scale_decider, direction_names_the_way_the_pool_goes) {
  EXPECT_STREQ(scale_direction(1, 3), "up");
  EXPECT_STREQ(scale_direction(3, 1), "down");
  EXPECT_STREQ(scale_direction(2, 2), "hold");
}

// -- ports -----------------------------------------------------------------------------

TEST(free_ports, takes_the_lowest_ports_from_the_start) {
  EXPECT_EQ(free_ports({}, 8000, 10, 3), (std::vector<uint16_t>{8000, 8001, 8002}));
}

TEST(free_ports, fills_holes_first) {
  EXPECT_EQ(free_ports({8000, 8002, 8004}, 8000, 10, 3),
            (std::vector<uint16_t>{8001, 8003, 8005}));
}

TEST(free_ports, never_goes_past_the_last_pool_port) {
  EXPECT_EQ(free_ports({8000, 8001}, 8000, 3, 5), (std::vector<uint16_t>{8002}));
}

TEST(ports_to_remove, takes_the_highest_first) {
  EXPECT_EQ(ports_to_remove({8000, 8001, 8002, 8005}, 2), (std::vector<uint16_t>{8005, 8002}));
  EXPECT_EQ(ports_to_remove({8000}, 3), (std::vector<uint16_t>{8000}));
}

// -- backoff -----------------------------------------------------------------------------

TEST(restart_delay, replaces_a_serving_container_at_once) {
  EXPECT_EQ(restart_delay(1, 1s, 30s), 0ms);
}

TEST(restart_delay, doubles_while_replacements_keep_failing_and_caps) {
  EXPECT_EQ(restart_delay(2, 1s, 30s), 1s);
  EXPECT_EQ(restart_delay(3, 1s, 30s), 2s);
  EXPECT_EQ(restart_delay(4, 1s, 30s), 4s);
  EXPECT_EQ(restart_delay(7, 1s, 30s), 30s); // 32 s capped
  EXPECT_EQ(restart_delay(500, 1s, 30s), 30s);
}

// -- health thresholds -------------------------------------------------------------------

TEST(health_track, starting_container_becomes_healthy_after_enough_passes) {
  health_track t;
  EXPECT_EQ(t.record(true, 2, 1), health_transition::none);
  EXPECT_EQ(t.record(true, 2, 1), health_transition::became_healthy);
  EXPECT_EQ(t.phase, health_phase::ready);
  EXPECT_EQ(t.record(true, 2, 1), health_transition::none); // transitions only
}

TEST(health_track, failures_while_starting_do_not_count) {
  health_track t;
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(t.record(false, 1, 1), health_transition::none);
  EXPECT_EQ(t.phase, health_phase::starting);
}

TEST(health_track, a_failure_resets_the_pass_streak) {
  health_track t;
  t.record(true, 2, 1);
  t.record(false, 2, 1);
  EXPECT_EQ(t.record(true, 2, 1), health_transition::none);
  EXPECT_EQ(t.record(true, 2, 1), health_transition::became_healthy);
}

TEST(health_track, ready_container_fails_after_unhealthy_after_failures_in_a_row) {
  health_track t;
  t.record(true, 1, 3);
  EXPECT_EQ(t.record(false, 1, 3), health_transition::none);
  EXPECT_EQ(t.record(false, 1, 3), health_transition::none);
  EXPECT_EQ(t.record(true, 1, 3), health_transition::none); // resets
  EXPECT_EQ(t.record(false, 1, 3), health_transition::none);
  EXPECT_EQ(t.record(false, 1, 3), health_transition::none);
  EXPECT_EQ(t.record(false, 1, 3), health_transition::became_unhealthy);
  EXPECT_EQ(t.record(false, 1, 3), health_transition::none); // reported once
}

TEST(health_track, suspect_must_pass_again_and_may_fail) {
  health_track t;
  t.record(true, 1, 1);
  t.suspect();
  EXPECT_EQ(t.phase, health_phase::suspect);
  EXPECT_EQ(t.record(true, 1, 1), health_transition::became_healthy);
  t.suspect();
  EXPECT_EQ(t.record(false, 1, 1), health_transition::became_unhealthy);
}
