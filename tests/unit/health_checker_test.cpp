// The HEALTH CHECKER on the test scheduler with a fake prober: thresholds,
// transitions (reported once), start timeout, re-checks, stale answers.
#include "actors/health_checker.hpp"

#include "tests/unit/actor_test.hpp"
#include "tests/unit/fakes.hpp"
#include "tests/unit/recorders.hpp"

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

namespace {

class health_checker_test : public actor_test {
protected:
  void spawn_checker(uint32_t healthy_after = 1, uint32_t unhealthy_after = 1) {
    health_settings settings;
    settings.interval = 1s;
    settings.timeout = 500ms;
    settings.start_interval = 50ms;
    settings.start_timeout = 2s;
    settings.healthy_after = healthy_after;
    settings.unhealthy_after = unhealthy_after;
    rec = std::make_shared<recording>();
    listener = sys.spawn(record_health_events, rec);
    hc = sys.spawn(health_checker, listener, probes, settings, census);
    run();
  }

  ~health_checker_test() override {
    // A periodic actor must be stopped, or ~actor_system never returns.
    caf::anon_send_exit(hc, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(listener, caf::exit_reason::user_shutdown);
    run();
    probes->clear();
  }

  void watch(uint16_t port, const std::string& id) {
    self->send(hc, atom::watch_v, port, id, false);
    run();
  }

  void answer(uint16_t port, bool passed) {
    probes->answer(port, passed);
    run();
  }

  /// Watches `port` and lets it pass its first probe.
  void make_ready(uint16_t port, const std::string& id) {
    watch(port, id);
    answer(port, true);
    ASSERT_TRUE(rec->heard("healthy " + std::to_string(port) + " " + id));
    rec->events.clear();
  }

  std::shared_ptr<fake_prober> probes = std::make_shared<fake_prober>();
  std::shared_ptr<recording> rec;
  health_listener_actor listener;
  health_checker_actor hc;
};

} // namespace

TEST_F(health_checker_test, new_container_is_probed_at_once) {
  spawn_checker();
  watch(8000, "c1");
  EXPECT_EQ(probes->pending(8000), 1u);
}

TEST_F(health_checker_test, first_passing_probe_reports_healthy_once) {
  spawn_checker();
  watch(8000, "c1");
  answer(8000, true);
  EXPECT_EQ(rec->events, (std::vector<std::string>{"healthy 8000 c1"}));
  advance(1s); // the fault check interval: probes ready containers
  EXPECT_EQ(probes->pending(8000), 1u);
  answer(8000, true);
  EXPECT_EQ(rec->events.size(), 1u); // transitions only, not every probe
}

TEST_F(health_checker_test, healthy_after_needs_that_many_passes_in_a_row) {
  spawn_checker(3, 1);
  watch(8000, "c1");
  answer(8000, true);
  advance(50ms);
  answer(8000, true);
  EXPECT_TRUE(rec->events.empty());
  advance(50ms);
  answer(8000, true);
  EXPECT_EQ(rec->events, (std::vector<std::string>{"healthy 8000 c1"}));
}

TEST_F(health_checker_test, starting_container_is_probed_at_the_fast_interval) {
  spawn_checker();
  watch(8000, "c1");
  answer(8000, false); // not listening yet
  EXPECT_EQ(probes->pending(8000), 0u);
  advance(50ms);
  EXPECT_EQ(probes->pending(8000), 1u);
  answer(8000, false);
  advance(50ms);
  answer(8000, true);
  EXPECT_EQ(rec->events, (std::vector<std::string>{"healthy 8000 c1"}));
}

TEST_F(health_checker_test, failures_while_starting_are_not_unhealthy_until_start_timeout) {
  spawn_checker();
  watch(8000, "c1");
  for (int i = 0; i < 39; ++i) { // 1.95 s of refused probes
    answer(8000, false);
    advance(50ms);
  }
  EXPECT_TRUE(rec->events.empty());
  answer(8000, false);
  advance(50ms); // 2 s: the start timeout
  ASSERT_EQ(rec->events.size(), 2u);
  EXPECT_EQ(rec->events[0], "unhealthy 8000 c1");
  EXPECT_NE(rec->events[1].find("not ready within the start timeout"), std::string::npos);
  EXPECT_NE(rec->events[1].find("status 500"), std::string::npos); // the last probe's reason
}

TEST_F(health_checker_test, ready_container_fails_on_its_first_failed_probe_by_default) {
  spawn_checker();
  make_ready(8000, "c1");
  advance(1s);
  answer(8000, false);
  EXPECT_EQ(rec->events, (std::vector<std::string>{"unhealthy 8000 c1", "reason status 500"}));
  advance(1s); // reported once: a failed target is not probed again
  EXPECT_EQ(probes->pending(8000), 0u);
}

// corral's own trouble (it could not open a socket for the probe) says
// nothing about the container: counted as local_error, never a failure.
TEST_F(health_checker_test, probes_corral_could_not_make_never_fail_a_container) {
  spawn_checker();
  make_ready(8000, "c1");
  for (int i = 0; i < 5; ++i) {
    advance(1s);
    ASSERT_TRUE(probes->answer_as(8000, probe_outcome::local_error, "out of descriptors"));
    run();
  }
  EXPECT_TRUE(rec->events.empty()) << rec->events.front();
  auto status = ask<health_status>(hc, caf::get_atom_v, atom::status_v);
  ASSERT_EQ(status.ports.size(), 1u);
  EXPECT_EQ(status.ports[0].by_outcome.at(static_cast<size_t>(probe_outcome::local_error)), 5u);
  EXPECT_EQ(status.became_unhealthy, 0u);
  // Still probed at the fault interval, and a real failure still counts.
  advance(1s);
  answer(8000, false);
  EXPECT_EQ(rec->events, (std::vector<std::string>{"unhealthy 8000 c1", "reason status 500"}));
}

TEST_F(health_checker_test, unhealthy_after_counts_consecutive_failures) {
  spawn_checker(1, 3);
  make_ready(8000, "c1");
  for (int round = 0; round < 2; ++round) {
    advance(1s);
    answer(8000, false);
  }
  advance(1s);
  answer(8000, true); // the streak resets
  for (int round = 0; round < 2; ++round) {
    advance(1s);
    answer(8000, false);
  }
  EXPECT_TRUE(rec->events.empty());
  advance(1s);
  answer(8000, false);
  EXPECT_TRUE(rec->heard("unhealthy 8000 c1"));
}

TEST_F(health_checker_test, hung_container_never_delays_the_others) {
  spawn_checker();
  make_ready(8000, "c1");
  make_ready(8001, "c2");
  advance(1s);
  // 8000 hangs: its probe never answers (the prober's own timeout would
  // answer it; here it simply stays out). 8001 answers and is judged.
  answer(8001, false);
  EXPECT_EQ(rec->events, (std::vector<std::string>{"unhealthy 8001 c2", "reason status 500"}));
  advance(1s);
  // No second probe piles up on the hung one.
  EXPECT_EQ(probes->pending(8000), 1u);
}

TEST_F(health_checker_test, recheck_takes_a_ready_container_back_to_fast_probes) {
  spawn_checker();
  make_ready(8000, "c1");
  self->send(hc, atom::recheck_v, uint16_t{8000});
  run();
  EXPECT_EQ(probes->pending(8000), 1u);
  answer(8000, true);
  EXPECT_EQ(rec->events, (std::vector<std::string>{"healthy 8000 c1"}));
  rec->events.clear();
  self->send(hc, atom::recheck_v, uint16_t{8000});
  run();
  answer(8000, false);
  EXPECT_TRUE(rec->heard("unhealthy 8000 c1"));
}

TEST_F(health_checker_test, answer_for_an_unwatched_or_rewatched_port_is_ignored) {
  spawn_checker();
  watch(8000, "c1");
  self->send(hc, atom::unwatch_v, uint16_t{8000});
  run();
  answer(8000, true);
  EXPECT_TRUE(rec->events.empty());
  watch(8000, "c2");
  watch(8000, "c3"); // c2's probe is still out
  ASSERT_EQ(probes->pending(8000), 2u);
  // c2's answer arrives first, on its own: it says nothing about c3, which
  // holds the port now, and must not make c3 healthy.
  answer(8000, true);
  EXPECT_TRUE(rec->events.empty());
  ASSERT_EQ(probes->pending(8000), 1u); // c3's own probe, still out
  answer(8000, true);
  EXPECT_EQ(rec->events, (std::vector<std::string>{"healthy 8000 c3"}));
}

// An adopted container's failures count at once (it ran already), so a
// stale failure credited to it would fail it on the spot.
TEST_F(health_checker_test, a_stale_failure_does_not_fail_the_container_that_holds_the_port_now) {
  spawn_checker();
  make_ready(8000, "c1");
  advance(1s); // c1's fault check probe goes out
  self->send(hc, atom::watch_v, uint16_t{8000}, std::string{"c2"}, true); // adopted meanwhile
  run();
  ASSERT_EQ(probes->pending(8000), 2u);
  answer(8000, false); // c1's probe: c1 is gone
  EXPECT_TRUE(rec->events.empty());
  answer(8000, true);
  EXPECT_EQ(rec->events, (std::vector<std::string>{"healthy 8000 c2"}));
}

// -- what the health checker reports about itself -----------------------------------------

TEST_F(health_checker_test, counts_probes_by_outcome_and_keeps_the_latest_per_port) {
  spawn_checker(1, 3);
  make_ready(8000, "c1");
  for (auto outcome : {probe_outcome::timeout, probe_outcome::connect_error,
                       probe_outcome::failed_status}) {
    advance(1s);
    probes->answer_as(8000, outcome);
    run();
  }
  auto status = ask<health_status>(hc, caf::get_atom_v, atom::status_v);
  ASSERT_EQ(status.ports.size(), 1u);
  auto& p = status.ports[0];
  EXPECT_EQ(p.port, 8000);
  auto at = [&](probe_outcome o) { return p.by_outcome.at(static_cast<size_t>(o)); };
  EXPECT_EQ(at(probe_outcome::ok), 1u);
  EXPECT_EQ(at(probe_outcome::timeout), 1u);
  EXPECT_EQ(at(probe_outcome::connect_error), 1u);
  EXPECT_EQ(at(probe_outcome::failed_status), 1u);
  EXPECT_EQ(p.last_result, "failed_status");
  EXPECT_DOUBLE_EQ(p.last_latency_seconds, 0.001); // the fake's 1 ms
  EXPECT_EQ(status.probe_seconds.count, 4u);
  EXPECT_EQ(status.became_healthy, 1u);
  EXPECT_EQ(status.became_unhealthy, 1u);
}

TEST_F(health_checker_test, a_stale_answer_is_not_counted) {
  spawn_checker();
  watch(8000, "c1");
  watch(8000, "c2"); // c1's probe is still out
  probes->answer(8000, false); // c1's, stale
  run();
  auto status = ask<health_status>(hc, caf::get_atom_v, atom::status_v);
  EXPECT_TRUE(status.ports.empty());
  probes->answer(8000, true); // c2's
  run();
  status = ask<health_status>(hc, caf::get_atom_v, atom::status_v);
  ASSERT_EQ(status.ports.size(), 1u);
  auto at = [&](probe_outcome o) { return status.ports[0].by_outcome.at(static_cast<size_t>(o)); };
  EXPECT_EQ(at(probe_outcome::ok), 1u);
  EXPECT_EQ(at(probe_outcome::failed_status), 0u);
  auto s = series_of("health_checker");
  EXPECT_EQ(s.messages["probe"], 2u); // both answers were handled, one counted
  EXPECT_EQ(s.messages["watch"], 2u);
}
