// Planning the pool: scaling, and rolling updates with surge and
// unavailability bounds, rollback and supersession. A small simulation plays
// the supervisor: it carries out each plan, lets one new container become
// ready and one retired one disappear per round, and checks the bounds.
#include "actors/pool_plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

using namespace corral;
using P = slot_phase;

namespace {

constexpr uint64_t v1 = 0x1111;
constexpr uint64_t v2 = 0x2222;
constexpr uint64_t v3 = 0x3333;

/// A pool the tests drive: slots by port.
struct sim {
  std::map<uint16_t, slot_view> slots;
  pool_goal goal;
  /// Containers started over the whole run.
  int launched = 0;
  /// The most slots (not leaving) at once, and the fewest ready ones.
  uint32_t peak_members = 0;
  uint32_t low_ready = 1000;

  void add(uint16_t port, P phase, uint64_t spec, bool leaving = false) {
    slots[port] = {port, phase, leaving, spec};
  }

  std::vector<slot_view> view() const {
    std::vector<slot_view> out;
    for (auto& [port, s] : slots)
      out.push_back(s);
    return out;
  }

  uint32_t members() const {
    uint32_t n = 0;
    for (auto& [port, s] : slots)
      n += s.leaving ? 0 : 1;
    return n;
  }

  uint32_t ready() const {
    uint32_t n = 0;
    for (auto& [port, s] : slots)
      n += !s.leaving && s.phase == P::ready ? 1 : 0;
    return n;
  }

  /// Carries out one plan.
  pool_moves apply() {
    auto moves = plan_pool(view(), goal);
    for (auto port : moves.keep) {
      slots[port].leaving = false;
      slots[port].phase = P::ready;
    }
    for (auto port : moves.retire) {
      auto& s = slots.at(port);
      s.leaving = true;
      s.phase = s.phase == P::ready ? P::draining : P::stopping;
    }
    for (auto port : moves.launch) {
      EXPECT_EQ(slots.count(port), 0u) << "launched onto a taken port " << port;
      add(port, P::starting, goal.spec);
      ++launched;
    }
    peak_members = std::max(peak_members, members());
    low_ready = std::min(low_ready, ready());
    return moves;
  }

  /// Time passes: the lowest starting slot becomes ready, and the lowest
  /// leaving slot is gone.
  void tick() {
    for (auto& [port, s] : slots)
      if (!s.leaving && s.phase == P::starting) {
        s.phase = P::ready;
        break;
      }
    for (auto i = slots.begin(); i != slots.end(); ++i)
      if (i->second.leaving) {
        slots.erase(i);
        break;
      }
  }

  /// Plans and ticks until settled; false after `rounds`.
  bool run(int rounds = 100) {
    for (int i = 0; i < rounds; ++i) {
      apply();
      if (pool_settled(view(), goal))
        return true;
      tick();
    }
    return false;
  }

  std::string ports() const {
    std::string out;
    for (auto& [port, s] : slots)
      out += std::to_string(port) + (s.spec == goal.spec ? "" : "(old)") + " ";
    return out;
  }
};

/// A settled pool of `n` ready slots of `spec` from 8000.
sim settled(uint32_t n, uint64_t spec) {
  sim s;
  s.goal = {8000, n, spec, 1, 0};
  for (uint32_t i = 0; i < n; ++i)
    s.add(static_cast<uint16_t>(8000 + i), P::ready, spec);
  return s;
}

} // namespace

TEST(pool_plan, an_empty_pool_fills_its_home_ports) {
  sim s;
  s.goal = {8000, 3, v1, 1, 0};
  auto moves = s.apply();
  EXPECT_EQ(moves.launch, (std::vector<uint16_t>{8000, 8001, 8002}));
  EXPECT_TRUE(moves.retire.empty());
}

TEST(pool_plan, scale_down_retires_the_highest_ports_first) {
  auto s = settled(4, v1);
  s.goal.size = 2;
  auto moves = s.apply();
  EXPECT_EQ(moves.retire, (std::vector<uint16_t>{8003, 8002}));
  EXPECT_TRUE(moves.launch.empty());
}

TEST(pool_plan, scale_down_keeps_enough_ready_while_a_home_slot_restarts) {
  auto s = settled(3, v1);
  s.slots[8000].phase = P::backoff; // its container died; it waits
  s.goal.size = 1;
  auto moves = s.apply();
  // 8002 may go (8001 still serves); 8001 stays until 8000 is ready again.
  EXPECT_EQ(moves.retire, (std::vector<uint16_t>{8002}));
  s.slots[8000].phase = P::ready;
  EXPECT_EQ(s.apply().retire, (std::vector<uint16_t>{8001}));
}

TEST(pool_plan, a_draining_slot_is_kept_when_the_pool_grows_again) {
  auto s = settled(3, v1);
  s.slots[8002].leaving = true;
  s.slots[8002].phase = P::draining;
  s.goal.size = 3;
  auto moves = s.apply();
  EXPECT_EQ(moves.keep, (std::vector<uint16_t>{8002}));
  EXPECT_TRUE(moves.launch.empty());
}

TEST(pool_plan, rollout_of_three_never_drops_below_three_ready_nor_above_four) {
  auto s = settled(3, v1);
  s.goal.spec = v2;
  ASSERT_TRUE(s.run()) << s.ports();
  EXPECT_EQ(s.low_ready, 3u);
  EXPECT_EQ(s.peak_members, 4u);
  EXPECT_EQ(s.launched, 4); // one surge slot, then each home port in turn
  // Every slot is back on its own port.
  std::vector<uint16_t> ports;
  for (auto& [port, slot] : s.slots)
    ports.push_back(port);
  EXPECT_EQ(ports, (std::vector<uint16_t>{8000, 8001, 8002}));
}

TEST(pool_plan, rollout_of_one_surges_then_swaps_back_onto_its_port) {
  auto s = settled(1, v1);
  s.goal.spec = v2;
  auto first = s.apply();
  EXPECT_EQ(first.launch, (std::vector<uint16_t>{8001}));
  EXPECT_TRUE(first.retire.empty()); // the old one serves until 8001 is ready
  ASSERT_TRUE(s.run()) << s.ports();
  EXPECT_EQ(s.low_ready, 1u);
  EXPECT_EQ(s.launched, 2);
  EXPECT_EQ(s.slots.begin()->first, 8000);
}

TEST(pool_plan, surge_and_unavailability_bounds_hold_for_every_combination) {
  for (uint32_t size : {1u, 2u, 3u, 10u})
    for (uint32_t surge : {0u, 1u, 2u})
      for (uint32_t unavailable : {0u, 1u}) {
        if (surge == 0 && unavailable == 0)
          continue; // no progress possible; the config refuses it
        auto s = settled(size, v1);
        s.goal = {8000, size, v2, surge, unavailable};
        auto label = std::to_string(size) + "/" + std::to_string(surge) + "/"
                     + std::to_string(unavailable);
        ASSERT_TRUE(s.run(200)) << label << ": " << s.ports();
        EXPECT_LE(s.peak_members, size + surge) << label;
        EXPECT_GE(s.low_ready, size > unavailable ? size - unavailable : 0) << label;
      }
}

TEST(pool_plan, old_slots_that_do_not_serve_are_retired_first) {
  auto s = settled(3, v1);
  s.slots[8002].phase = P::starting; // an old container restarting
  s.goal.spec = v2;
  auto moves = s.apply();
  ASSERT_FALSE(moves.retire.empty());
  EXPECT_EQ(moves.retire.front(), 8002);
}

TEST(pool_plan, an_adopted_slot_of_another_spec_serves_until_its_replacement_is_ready) {
  sim s;
  s.goal = {8000, 1, v2, 1, 0};
  s.add(8000, P::adopting, v1); // an earlier run's container, being probed
  auto moves = s.apply();
  EXPECT_TRUE(moves.retire.empty());
  EXPECT_EQ(moves.launch, (std::vector<uint16_t>{8001})); // the surge starts at once
  s.slots[8000].phase = P::ready; // it passed its probe
  ASSERT_TRUE(s.run()) << s.ports();
  EXPECT_EQ(s.low_ready, 0u); // none was ready before the adopted one passed
  EXPECT_EQ(s.slots.begin()->second.spec, v2);
}

TEST(pool_plan, rollback_returns_every_slot_to_the_old_spec) {
  auto s = settled(3, v1);
  s.goal.spec = v2;
  for (int i = 0; i < 4; ++i) { // part of the way
    s.apply();
    s.tick();
  }
  ASSERT_FALSE(pool_settled(s.view(), s.goal));
  s.goal.spec = v1; // the new containers failed: back to the old spec
  ASSERT_TRUE(s.run()) << s.ports();
  for (auto& [port, slot] : s.slots)
    EXPECT_EQ(slot.spec, v1) << port;
  EXPECT_GE(s.low_ready, 3u);
}

TEST(pool_plan, a_new_goal_supersedes_a_rollout_under_way) {
  auto s = settled(3, v1);
  s.goal.spec = v2;
  for (int i = 0; i < 3; ++i) {
    s.apply();
    s.tick();
  }
  s.goal.spec = v3;
  ASSERT_TRUE(s.run()) << s.ports();
  for (auto& [port, slot] : s.slots)
    EXPECT_EQ(slot.spec, v3) << port;
}

TEST(pool_plan, settled_means_home_ports_ready_on_the_goal_spec_and_nothing_else) {
  auto s = settled(2, v1);
  EXPECT_TRUE(pool_settled(s.view(), s.goal));
  s.add(8002, P::ready, v1);
  EXPECT_FALSE(pool_settled(s.view(), s.goal)); // an extra
  s = settled(2, v1);
  s.slots[8001].phase = P::starting;
  EXPECT_FALSE(pool_settled(s.view(), s.goal));
  s = settled(2, v1);
  s.goal.spec = v2;
  EXPECT_FALSE(pool_settled(s.view(), s.goal));
}
