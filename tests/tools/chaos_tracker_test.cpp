// Following faults through /status: detection, replacement, and the victims
// a new fault may pick.
#include "tools/chaos/fault_tracker.hpp"

#include <gtest/gtest.h>

using namespace corral::chaos;
using namespace std::chrono_literals;

namespace {

const clock::time_point t0{};

pool_view pool(std::vector<slot_view> slots) {
  pool_view view;
  view.name = "p";
  view.desired = static_cast<uint32_t>(slots.size());
  view.slots = std::move(slots);
  return view;
}

slot_view slot(uint16_t port, std::string state, std::string container) {
  return {port, std::move(state), std::move(container), 0, ""};
}

} // namespace

TEST(chaos_tracker, detection_is_the_first_answer_without_the_victim_ready) {
  fault_tracker tracker;
  auto id = tracker.open(fault_kind::kill, 21011, "old", t0);
  EXPECT_TRUE(tracker.observe(pool({slot(21011, "ready", "old")}), t0 + 5ms, t0 + 6ms).empty());
  auto progress = tracker.observe(pool({slot(21011, "stopping", "old")}), t0 + 60ms, t0 + 61ms);
  ASSERT_EQ(progress.size(), 1u);
  EXPECT_EQ(progress[0].snapshot.id, id);
  EXPECT_TRUE(progress[0].detected_now);
  EXPECT_FALSE(progress[0].replaced_now);
  EXPECT_DOUBLE_EQ(*tracker.faults()[0].detection_ms(), 61.0); // when the answer arrived
  EXPECT_FALSE(tracker.faults()[0].replacement_ms());
  EXPECT_EQ(tracker.busy_ports(), std::set<uint16_t>{21011});
}

TEST(chaos_tracker, replacement_is_the_port_ready_with_another_container) {
  fault_tracker tracker;
  tracker.open(fault_kind::kill, 21011, "old", t0);
  tracker.observe(pool({slot(21011, "stopping", "old")}), t0 + 60ms, t0 + 61ms);
  // Starting with the new container is not ready yet.
  EXPECT_TRUE(
    tracker.observe(pool({slot(21011, "starting", "new")}), t0 + 300ms, t0 + 301ms).empty());
  auto progress = tracker.observe(pool({slot(21011, "ready", "new")}), t0 + 500ms, t0 + 502ms);
  ASSERT_EQ(progress.size(), 1u);
  EXPECT_FALSE(progress[0].detected_now);
  EXPECT_TRUE(progress[0].replaced_now);
  auto& f = tracker.faults()[0];
  EXPECT_DOUBLE_EQ(*f.detection_ms(), 61.0);
  EXPECT_DOUBLE_EQ(*f.replacement_ms(), 502.0);
  EXPECT_EQ(f.replacement, "new");
  EXPECT_EQ(tracker.open_count(), 0u);
  EXPECT_TRUE(tracker.busy_ports().empty());
  // Later answers change nothing.
  EXPECT_TRUE(
    tracker.observe(pool({slot(21011, "stopping", "new")}), t0 + 900ms, t0 + 901ms).empty());
}

TEST(chaos_tracker, a_replacement_seen_at_once_is_also_the_detection) {
  fault_tracker tracker;
  tracker.open(fault_kind::crash, 21010, "old", t0);
  auto progress = tracker.observe(pool({slot(21010, "ready", "new")}), t0 + 700ms, t0 + 710ms);
  ASSERT_EQ(progress.size(), 1u);
  EXPECT_TRUE(progress[0].detected_now);
  EXPECT_TRUE(progress[0].replaced_now);
  EXPECT_DOUBLE_EQ(*tracker.faults()[0].detection_ms(), 710.0);
  EXPECT_DOUBLE_EQ(*tracker.faults()[0].replacement_ms(), 710.0);
}

TEST(chaos_tracker, a_missing_slot_counts_as_detected_but_not_replaced) {
  fault_tracker tracker;
  tracker.open(fault_kind::kill, 21012, "old", t0);
  auto progress = tracker.observe(pool({slot(21010, "ready", "x")}), t0 + 1ms, t0 + 2ms);
  ASSERT_EQ(progress.size(), 1u);
  EXPECT_TRUE(progress[0].detected_now);
  EXPECT_EQ(tracker.open_count(), 1u);
}

TEST(chaos_tracker, an_answer_requested_before_the_fault_cannot_show_it) {
  // Regression guard: the poll in flight while the SIGKILL leaves must not
  // date a detection before the kill, nor be taken as one.
  fault_tracker tracker;
  auto injected = t0 + 100ms;
  tracker.open(fault_kind::kill, 21011, "old", injected);
  EXPECT_TRUE(
    tracker.observe(pool({slot(21011, "stopping", "old")}), t0 + 95ms, t0 + 101ms).empty());
  EXPECT_FALSE(tracker.faults()[0].detected);
}

TEST(chaos_tracker, faults_on_different_ports_are_followed_independently) {
  fault_tracker tracker;
  tracker.open(fault_kind::kill, 21010, "a", t0);
  tracker.open(fault_kind::kill, 21011, "b", t0 + 10ms);
  auto view = pool({slot(21010, "ready", "a2"), slot(21011, "creating", "")});
  auto progress = tracker.observe(view, t0 + 20ms, t0 + 30ms);
  ASSERT_EQ(progress.size(), 2u);
  EXPECT_TRUE(progress[0].replaced_now);
  EXPECT_TRUE(progress[1].detected_now);
  EXPECT_FALSE(progress[1].replaced_now);
  EXPECT_DOUBLE_EQ(*tracker.faults()[1].detection_ms(), 20.0);
  EXPECT_EQ(tracker.busy_ports(), std::set<uint16_t>{21011});
}

TEST(chaos_tracker, cancel_forgets_a_fault_that_was_never_injected) {
  fault_tracker tracker;
  auto id = tracker.open(fault_kind::kill, 21010, "a", t0);
  tracker.cancel(id);
  EXPECT_TRUE(tracker.faults().empty());
  EXPECT_TRUE(tracker.busy_ports().empty());
  EXPECT_NE(tracker.open(fault_kind::kill, 21010, "a", t0), id); // ids are not reused
}

TEST(chaos_tracker, victims_are_ready_slots_with_a_container_and_no_open_fault) {
  auto view = pool({slot(21010, "ready", "a"), slot(21011, "starting", "b"),
                    slot(21012, "ready", "c"), slot(21013, "ready", ""),
                    slot(21014, "checking", "e")});
  auto victims = eligible_victims(view, {21012});
  ASSERT_EQ(victims.size(), 1u);
  EXPECT_EQ(victims[0].port, 21010);
  EXPECT_TRUE(eligible_victims(view, {21010, 21012}).empty());
}

TEST(chaos_tracker, kinds_have_names) {
  EXPECT_STREQ(to_string(fault_kind::kill), "kill");
  EXPECT_STREQ(to_string(fault_kind::crash), "crash");
}

TEST(chaos_tracker, the_path_tells_where_the_repair_time_went) {
  fault_tracker tracker;
  tracker.open(fault_kind::kill, 21011, "old", t0);
  tracker.observe(pool({slot(21011, "ready", "old")}), t0 + 1ms, t0 + 2ms);
  tracker.observe(pool({slot(21011, "checking", "old")}), t0 + 40ms, t0 + 41ms);
  tracker.observe(pool({slot(21011, "stopping", "old")}), t0 + 50ms, t0 + 51ms);
  tracker.observe(pool({slot(21011, "stopping", "old")}), t0 + 60ms, t0 + 61ms);
  tracker.observe(pool({slot(21011, "creating", "")}), t0 + 130ms, t0 + 131ms);
  EXPECT_TRUE(tracker.faults()[0].phases_ms().empty()); // not repaired yet
  tracker.observe(pool({slot(21011, "starting", "new")}), t0 + 280ms, t0 + 281ms);
  tracker.observe(pool({slot(21011, "ready", "new")}), t0 + 500ms, t0 + 501ms);
  auto phases = tracker.faults()[0].phases_ms();
  ASSERT_EQ(phases.size(), 4u);
  EXPECT_EQ(phases[0].first, "checking");
  EXPECT_DOUBLE_EQ(phases[0].second, 10);
  EXPECT_EQ(phases[1].first, "stopping");
  EXPECT_DOUBLE_EQ(phases[1].second, 80);
  EXPECT_EQ(phases[2].first, "creating");
  EXPECT_DOUBLE_EQ(phases[2].second, 150);
  EXPECT_EQ(phases[3].first, "starting");
  EXPECT_DOUBLE_EQ(phases[3].second, 220);
  // Detection plus the phases is the whole repair.
  EXPECT_DOUBLE_EQ(*tracker.faults()[0].detection_ms() + 10 + 80 + 150 + 220,
                   *tracker.faults()[0].replacement_ms());
}
