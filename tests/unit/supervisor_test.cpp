// The SUPERVISOR with its real balancer, health checker, scaler and container
// actors, against a fake runtime and a fake prober, on the test scheduler:
// start-up, replacement on the same port, backoff, scaling, drain, shutdown.
#include "actors/balancer.hpp"
#include "actors/supervisor.hpp"

#include "tests/unit/actor_test.hpp"
#include "tests/unit/fakes.hpp"
#include "tests/unit/recorders.hpp"

#include <future>
#include <mutex>
#include <thread>

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

namespace {

class supervisor_test : public actor_test {
protected:
  supervisor_test() {
    cfg.pool.name = "acts";
    cfg.pool.start_port = 8000;
    cfg.pool.min_containers = 1;
    cfg.pool.max_containers = 10;
    cfg.health.interval = 1s;
    cfg.health.start_interval = 50ms;
    cfg.health.start_timeout = 30s;
    cfg.restart.backoff = 1s;
    cfg.restart.max_backoff = 30s;
    cfg.scaling.interval = 120s;
    cfg.scaling.drain_timeout = 10s;
    cfg.detach_containers = false; // the fake runtime never blocks
  }

  ~supervisor_test() override {
    if (sup) {
      caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
      run();
    }
    probes->clear();
  }

  /// Starts the pool with min_containers = `min_size`.
  void start_with_min(uint32_t min_size) {
    cfg.pool.min_containers = min_size;
    cfg.census = census;
    sup = sys.spawn(supervisor, cfg, rt, probes);
    run();
  }

  /// Starts the pool with min_containers = 1, then scales it to `size`, so
  /// tests can scale down again.
  void start(uint32_t size = 1) {
    start_with_min(1);
    if (size > 1)
      scale(size);
  }

  supervisor_state& st() {
    return state_of<supervisor_state>(sup);
  }

  slot& slot_at(uint16_t port) {
    return st().slots.at(port);
  }

  std::vector<uint16_t> rotation() {
    return state_of<balancer_state>(st().balancer).rotation.ports();
  }

  std::vector<uint16_t> slot_ports() {
    std::vector<uint16_t> ports;
    for (auto& [port, s] : st().slots)
      ports.push_back(port);
    return ports;
  }

  /// Answers the pending probes of `ports` with a pass, one at a time.
  void pass(std::initializer_list<uint16_t> ports) {
    for (auto port : ports)
      while (probes->answer(port, true))
        run();
  }

  /// Fails the oldest pending probe of `port`.
  void fail_probe(uint16_t port) {
    probes->answer(port, false);
    run();
  }

  void died(uint16_t port) {
    self->send(sup, atom::died_v, port, slot_at(port).container_id, int32_t{137}, false);
    run();
  }

  void scale(uint32_t n) {
    EXPECT_EQ(ask<uint32_t>(sup, atom::scale_v, n), std::min(n, cfg.pool.max_containers));
  }

  /// `n` requests are handed a port and are still in flight.
  void requests_in_flight(uint32_t n) {
    self->send(st().balancer, atom::next_v,
               port_ask{n, 0, {}, {}, std::make_shared<discard_ports>()});
    run();
  }

  void finish(std::vector<uint16_t> ports) {
    self->send(st().balancer, atom::next_v, port_ask{0, 0, std::move(ports), {}, nullptr});
    run();
  }

  std::vector<std::string> names(std::initializer_list<uint16_t> ports) {
    std::vector<std::string> result;
    for (auto port : ports)
      result.push_back("acts-" + std::to_string(port));
    return result;
  }

  supervisor_config cfg;
  std::shared_ptr<fake_runtime> rt = std::make_shared<fake_runtime>();
  std::shared_ptr<fake_prober> probes = std::make_shared<fake_prober>();
  supervisor_actor sup;
};

} // namespace

TEST_F(supervisor_test, starts_min_containers_on_consecutive_ports) {
  start_with_min(3);
  EXPECT_EQ(rt->running(), names({8000, 8001, 8002}));
  auto& spec = rt->containers.at(rt->id_of("acts-8001")).spec;
  EXPECT_EQ(spec.port, 8001);
  EXPECT_EQ(spec.labels.at("corral.pool"), "acts");
  EXPECT_EQ(spec.labels.at("corral.port"), "8001");
  EXPECT_EQ(spec.volume, "acts-data");
}

TEST_F(supervisor_test, container_joins_the_balancer_only_after_its_first_passing_probe) {
  start(2);
  EXPECT_TRUE(rotation().empty());
  EXPECT_EQ(slot_at(8000).facts.phase, slot_phase::starting);
  fail_probe(8000); // not listening yet
  EXPECT_TRUE(rotation().empty());
  pass({8001});
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8001}));
  advance(50ms);
  pass({8000});
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8000, 8001}));
  EXPECT_EQ(slot_at(8000).facts.phase, slot_phase::ready);
}

TEST_F(supervisor_test, dead_container_is_replaced_on_the_same_port) {
  start(2);
  pass({8000, 8001});
  auto old_id = slot_at(8000).container_id;
  // Routing must stop before the container is touched.
  std::vector<uint16_t> rotation_at_remove;
  bool removed = false;
  rt->on_remove = [&](const std::string& id) {
    if (id == old_id) {
      removed = true;
      rotation_at_remove = rotation();
    }
  };
  died(8000);
  EXPECT_TRUE(removed);
  EXPECT_EQ(rotation_at_remove, (std::vector<uint16_t>{8001}));
  auto new_id = slot_at(8000).container_id;
  EXPECT_NE(new_id, old_id);
  EXPECT_EQ(rt->running(), names({8000, 8001}));
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8001})); // not before its probe
  pass({8000});
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8000, 8001}));
  EXPECT_EQ(slot_at(8000).facts.restarts, 1u);
}

TEST_F(supervisor_test, killed_container_gives_up_its_name_before_its_removal) {
  start(1);
  pass({8000});
  auto old_id = slot_at(8000).container_id;
  // Even a removal that fails (the engine still busy with the dead one)
  // must not hold up the replacement: the rename freed the name.
  rt->remove_failures.push_back({runtime_errc::engine_error, "removal in progress", 409});
  died(8000);
  EXPECT_EQ(rt->count("rename " + old_id + " acts-8000-gone-" + old_id), 1u);
  EXPECT_EQ(rt->count("create acts-8000"), 2u);
  EXPECT_EQ(rt->count("remove acts-8000"), 0u); // no name clash to clear
  EXPECT_EQ(slot_at(8000).facts.phase, slot_phase::starting);
  EXPECT_TRUE(st().removing.empty()); // the old actor finished and went down
  pass({8000});
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8000}));
}

TEST_F(supervisor_test, without_a_rename_the_replacement_waits_for_the_removal) {
  start(1);
  pass({8000});
  auto old_id = slot_at(8000).container_id;
  rt->rename_failures.push_back({runtime_errc::engine_error, "no rename today", 500});
  died(8000);
  auto removed = std::find(rt->calls.begin(), rt->calls.end(), "remove " + old_id);
  auto created = std::find(removed, rt->calls.end(), "create acts-8000");
  EXPECT_NE(removed, rt->calls.end());
  EXPECT_NE(created, rt->calls.end());
  EXPECT_EQ(slot_at(8000).facts.phase, slot_phase::starting);
}

TEST_F(supervisor_test, unhealthy_container_is_killed_and_replaced_on_the_same_port) {
  start(1);
  pass({8000});
  auto old_id = slot_at(8000).container_id;
  advance(1s); // the fault check
  fail_probe(8000);
  EXPECT_EQ(rt->count("remove " + old_id), 1u);
  EXPECT_EQ(rt->count("create acts-8000"), 2u);
  EXPECT_EQ(slot_at(8000).facts.phase, slot_phase::starting);
  EXPECT_NE(slot_at(8000).last_error.find("health check failed"), std::string::npos);
  pass({8000});
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8000}));
}

TEST_F(supervisor_test, death_of_an_old_container_is_ignored) {
  start(1);
  pass({8000});
  auto old_id = slot_at(8000).container_id;
  died(8000);
  pass({8000});
  self->send(sup, atom::died_v, uint16_t{8000}, old_id, int32_t{137}, false);
  run();
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8000}));
  EXPECT_EQ(rt->count("create acts-8000"), 2u);
}

TEST_F(supervisor_test, death_reported_before_start_completes_fails_the_slot) {
  cfg.pool.min_containers = 1;
  sup = sys.spawn(supervisor, cfg, rt, probes);
  // Let only the supervisor run: the container actor has not launched yet,
  // so the die event is the first thing the supervisor hears about "c1".
  sched.prioritize(sup);
  sched.run_once();
  self->send(sup, atom::died_v, uint16_t{8000}, std::string{"c1"}, int32_t{1}, false);
  run();
  EXPECT_EQ(rt->count("remove c1"), 1u);
  EXPECT_EQ(rt->count("create acts-8000"), 2u);
  EXPECT_EQ(slot_at(8000).last_error, "exited right after it started");
}

TEST_F(supervisor_test, slot_that_keeps_failing_backs_off_exponentially) {
  start(2);
  pass({8000});
  // 8001 dies at once, every time, without ever passing a probe.
  died(8001); // streak 1: replaced at once
  EXPECT_EQ(rt->count("create acts-8001"), 2u);
  died(8001); // streak 2: waits 1 s
  EXPECT_EQ(slot_at(8001).facts.phase, slot_phase::backoff);
  advance(999ms);
  EXPECT_EQ(rt->count("create acts-8001"), 2u);
  advance(1ms);
  EXPECT_EQ(rt->count("create acts-8001"), 3u);
  died(8001); // streak 3: waits 2 s
  advance(1999ms);
  EXPECT_EQ(rt->count("create acts-8001"), 3u);
  advance(1ms);
  EXPECT_EQ(rt->count("create acts-8001"), 4u);
  // The healthy slot keeps serving throughout.
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8000}));
  EXPECT_EQ(slot_at(8000).facts.restarts, 0u);
  // Once a replacement passes, the streak resets: the next death is
  // replaced at once again.
  pass({8001});
  EXPECT_EQ(slot_at(8001).facts.streak, 0u);
  died(8001);
  EXPECT_EQ(rt->count("create acts-8001"), 5u);
}

TEST_F(supervisor_test, backoff_is_capped_at_max_backoff) {
  cfg.restart.max_backoff = 3s;
  start(1);
  for (int i = 0; i < 4; ++i) {
    died(8000);
    advance(3s);
  }
  auto creates = rt->count("create acts-8000");
  died(8000); // streak 5 would wait 8 s uncapped
  advance(2999ms);
  EXPECT_EQ(rt->count("create acts-8000"), creates);
  advance(1ms);
  EXPECT_EQ(rt->count("create acts-8000"), creates + 1);
}

TEST_F(supervisor_test, container_that_cannot_be_created_is_retried_with_backoff) {
  rt->create_failures.push_back({runtime_errc::engine_error, "engine busy", 500});
  rt->create_failures.push_back({runtime_errc::engine_error, "engine busy", 500});
  start(1);
  // First failure: again at once; second: after the backoff.
  EXPECT_EQ(rt->count("create acts-8000"), 2u);
  EXPECT_EQ(slot_at(8000).facts.phase, slot_phase::backoff);
  EXPECT_NE(slot_at(8000).last_error.find("busy"), std::string::npos);
  advance(1s);
  EXPECT_EQ(rt->count("create acts-8000"), 3u);
  pass({8000});
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8000}));
}

// A container the engine created but could not start (its port taken, a
// mount gone) is removed at once, not left behind in state created, and the
// slot tries again like after any failed start.
TEST_F(supervisor_test, container_that_cannot_be_started_is_removed_and_retried_with_backoff) {
  rt->start_failures.push_back({runtime_errc::engine_error, "port is already allocated", 500});
  rt->start_failures.push_back({runtime_errc::engine_error, "port is already allocated", 500});
  start(1);
  // First failure: again at once; second: after the backoff.
  EXPECT_EQ(rt->count("create acts-8000"), 2u);
  EXPECT_EQ(rt->count("start c1"), 1u);
  EXPECT_EQ(rt->count("remove c1"), 1u);
  EXPECT_EQ(rt->count("start c2"), 1u);
  EXPECT_EQ(rt->count("remove c2"), 1u);
  EXPECT_TRUE(rt->containers.empty()); // nothing left in state created
  EXPECT_EQ(slot_at(8000).facts.phase, slot_phase::backoff);
  EXPECT_NE(slot_at(8000).last_error.find("already allocated"), std::string::npos);
  advance(1s);
  EXPECT_EQ(rt->count("create acts-8000"), 3u);
  EXPECT_EQ(rt->running(), names({8000}));
  pass({8000});
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8000}));
  auto status = ask<pool_status>(sup, caf::get_atom_v, atom::status_v);
  EXPECT_EQ(status.event_counts["start_failed"], 2u);
}

TEST_F(supervisor_test, a_start_the_engine_refuses_fails_the_slot_without_retrying) {
  start(1);
  pass({8000});
  rt->start_failures.push_back({runtime_errc::engine_error, "invalid mount config", 400});
  scale(2);
  EXPECT_EQ(rt->count("create acts-8001"), 1u);
  // The fake numbers containers in creation order: 8001's is c2.
  EXPECT_EQ(rt->count("start c2"), 1u);
  EXPECT_EQ(rt->count("remove c2"), 1u);
  EXPECT_EQ(rt->containers.count("c2"), 0u);
  EXPECT_EQ(slot_at(8001).facts.phase, slot_phase::failed);
  EXPECT_NE(slot_at(8001).last_error.find("invalid mount"), std::string::npos);
  advance(60s); // no backoff runs: nothing is tried again
  EXPECT_EQ(rt->count("create acts-8001"), 1u);
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8000}));
}

// Issue 8: an error a retry cannot fix marks the slot failed with its
// reason, instead of retrying with backoff forever; the others keep serving.
TEST_F(supervisor_test, a_missing_image_fails_the_slot_without_retrying_while_others_serve) {
  start(1);
  pass({8000});
  rt->create_failures.push_back({runtime_errc::image_missing, "image \"acts:latest\" is missing", 404});
  scale(2);
  EXPECT_EQ(rt->count("create acts-8001"), 1u);
  EXPECT_EQ(slot_at(8001).facts.phase, slot_phase::failed);
  EXPECT_NE(slot_at(8001).last_error.find("missing"), std::string::npos);
  advance(60s); // no backoff runs: nothing is tried again
  EXPECT_EQ(rt->count("create acts-8001"), 1u);
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8000}));
  auto status = ask<pool_status>(sup, caf::get_atom_v, atom::status_v);
  ASSERT_EQ(status.slots.size(), 2u);
  EXPECT_EQ(status.slots[1].state, "failed");
  EXPECT_EQ(status.event_counts["start_failed"], 1u);
}

TEST_F(supervisor_test, leftover_container_with_the_same_name_is_cleared) {
  container_spec leftover;
  leftover.name = "acts-8000";
  ASSERT_TRUE(rt->create(leftover));
  start(1);
  EXPECT_EQ(rt->count("remove acts-8000"), 1u);
  EXPECT_EQ(rt->running(), names({8000}));
}

TEST_F(supervisor_test, scale_up_takes_the_lowest_free_ports) {
  start(1);
  pass({8000});
  scale(3);
  EXPECT_EQ(rt->running(), names({8000, 8001, 8002}));
  pass({8001, 8002});
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8000, 8001, 8002}));
}

TEST_F(supervisor_test, scale_up_keeps_the_port_of_a_slot_waiting_to_restart) {
  start(2);
  pass({8000});
  died(8001);
  died(8001); // now waiting in backoff: still a member of the pool
  ASSERT_EQ(slot_at(8001).facts.phase, slot_phase::backoff);
  scale(3);
  EXPECT_EQ(slot_ports(), (std::vector<uint16_t>{8000, 8001, 8002}));
  EXPECT_EQ(slot_at(8002).facts.phase, slot_phase::starting);
}

TEST_F(supervisor_test, scale_down_drains_and_removes_the_highest_ports_first) {
  start(3);
  pass({8000, 8001, 8002});
  auto id1 = slot_at(8001).container_id;
  auto id2 = slot_at(8002).container_id;
  scale(1);
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8000}));
  EXPECT_EQ(slot_ports(), (std::vector<uint16_t>{8000}));
  EXPECT_EQ(rt->running(), names({8000}));
  // Graceful: stopped, then removed; highest first.
  auto stop2 = std::find(rt->calls.begin(), rt->calls.end(), "stop " + id2);
  auto stop1 = std::find(rt->calls.begin(), rt->calls.end(), "stop " + id1);
  ASSERT_NE(stop2, rt->calls.end());
  ASSERT_NE(stop1, rt->calls.end());
  EXPECT_LT(stop2, stop1);
}

TEST_F(supervisor_test, drain_waits_for_requests_in_flight) {
  start(2);
  pass({8000, 8001});
  requests_in_flight(2); // one on each port
  scale(1);
  EXPECT_EQ(slot_at(8001).facts.phase, slot_phase::draining);
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8000}));
  EXPECT_EQ(rt->running(), names({8000, 8001})); // still serving its request
  finish({8001});
  EXPECT_EQ(rt->running(), names({8000}));
  EXPECT_EQ(slot_ports(), (std::vector<uint16_t>{8000}));
}

TEST_F(supervisor_test, drain_ends_at_the_drain_timeout) {
  start(2);
  pass({8000, 8001});
  requests_in_flight(2);
  scale(1);
  advance(9s);
  EXPECT_EQ(rt->running(), names({8000, 8001}));
  advance(1s);
  EXPECT_EQ(rt->running(), names({8000}));
}

TEST_F(supervisor_test, scale_up_during_a_drain_keeps_the_draining_container) {
  start(2);
  pass({8000, 8001});
  requests_in_flight(2);
  scale(1);
  auto id = slot_at(8001).container_id;
  scale(2);
  EXPECT_EQ(slot_at(8001).facts.phase, slot_phase::ready);
  EXPECT_EQ(slot_at(8001).container_id, id);
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8000, 8001}));
  finish({8001});
  EXPECT_EQ(rt->running(), names({8000, 8001}));
  EXPECT_EQ(rt->count("create acts-8001"), 1u);
}

TEST_F(supervisor_test, scale_down_during_a_replacement_cancels_the_replacement) {
  start(3);
  pass({8000, 8001, 8002});
  died(8002); // being replaced: the new container is starting
  ASSERT_EQ(slot_at(8002).facts.phase, slot_phase::starting);
  scale(2);
  EXPECT_EQ(slot_ports(), (std::vector<uint16_t>{8000, 8001}));
  EXPECT_EQ(rt->running(), names({8000, 8001}));
  pass({8002}); // a late probe answer changes nothing
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8000, 8001}));
}

TEST_F(supervisor_test, scale_down_of_a_slot_in_backoff_drops_it) {
  start(2);
  pass({8000});
  died(8001);
  died(8001);
  ASSERT_EQ(slot_at(8001).facts.phase, slot_phase::backoff);
  scale(1);
  EXPECT_EQ(slot_ports(), (std::vector<uint16_t>{8000}));
  advance(30s); // the cancelled restart never fires
  EXPECT_EQ(slot_ports(), (std::vector<uint16_t>{8000}));
  EXPECT_EQ(rt->running(), names({8000}));
}

TEST_F(supervisor_test, scale_is_clamped_to_min_and_max) {
  cfg.pool.max_containers = 3;
  start_with_min(2);
  EXPECT_EQ(ask<uint32_t>(sup, atom::scale_v, uint32_t{9}), 3u);
  EXPECT_EQ(ask<uint32_t>(sup, atom::scale_v, uint32_t{0}), 2u);
  EXPECT_EQ(slot_ports(), (std::vector<uint16_t>{8000, 8001}));
}

TEST_F(supervisor_test, unreachable_port_is_rechecked_before_it_gets_traffic_again) {
  start(2);
  pass({8000, 8001});
  // The proxy could not reach 8001.
  self->send(st().balancer, atom::next_v, port_ask{0, 0, {}, {8001}, nullptr});
  run();
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8000}));
  EXPECT_EQ(slot_at(8001).facts.phase, slot_phase::checking);
  pass({8001}); // a transient hiccup: back in the rotation
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8000, 8001}));
  self->send(st().balancer, atom::next_v, port_ask{0, 0, {}, {8001}, nullptr});
  run();
  fail_probe(8001); // really gone: replaced
  EXPECT_EQ(rt->count("create acts-8001"), 2u);
}

TEST_F(supervisor_test, resync_replaces_containers_that_vanished_unseen) {
  start(2);
  pass({8000, 8001});
  std::vector<observed_container> seen{{8000, slot_at(8000).container_id, true}};
  self->send(sup, atom::resync_v, seen);
  run();
  EXPECT_EQ(rt->count("create acts-8001"), 2u);
  EXPECT_EQ(slot_at(8001).last_error, "gone while the Docker events stream was down");
  EXPECT_EQ(rt->count("create acts-8000"), 1u);
}

TEST_F(supervisor_test, resync_restarts_slots_waiting_in_backoff_at_once) {
  rt->create_failures.push_back({runtime_errc::daemon_unreachable, "daemon down", 0});
  rt->create_failures.push_back({runtime_errc::daemon_unreachable, "daemon down", 0});
  start(1);
  ASSERT_EQ(slot_at(8000).facts.phase, slot_phase::backoff); // 1 s backoff
  self->send(sup, atom::resync_v, std::vector<observed_container>{});
  run();
  EXPECT_EQ(rt->count("create acts-8000"), 3u);
  EXPECT_EQ(slot_at(8000).facts.phase, slot_phase::starting);
  advance(1s); // the old backoff timer is stale now
  EXPECT_EQ(rt->count("create acts-8000"), 3u);
}

TEST_F(supervisor_test, shutdown_removes_every_container_then_answers) {
  start(3);
  pass({8000, 8001});
  died(8001);
  EXPECT_TRUE(ask<bool>(sup, atom::shutdown_v, cfg.pool.on_exit == exit_policy::keep));
  EXPECT_TRUE(rt->containers.empty());
  EXPECT_TRUE(st().slots.empty());
  EXPECT_TRUE(rotation().empty());
}

TEST_F(supervisor_test, shutdown_with_keep_leaves_containers_running) {
  cfg.pool.on_exit = exit_policy::keep;
  start(2);
  pass({8000, 8001});
  EXPECT_TRUE(ask<bool>(sup, atom::shutdown_v, cfg.pool.on_exit == exit_policy::keep));
  EXPECT_EQ(rt->running(), names({8000, 8001}));
  EXPECT_TRUE(st().slots.empty());
}

TEST_F(supervisor_test, status_lists_every_slot) {
  start(2);
  pass({8000});
  auto status = ask<pool_status>(sup, caf::get_atom_v, atom::status_v);
  EXPECT_EQ(status.name, "acts");
  EXPECT_EQ(status.desired, 2u);
  ASSERT_EQ(status.slots.size(), 2u);
  EXPECT_EQ(status.slots[0].port, 8000);
  EXPECT_EQ(status.slots[0].state, "ready");
  EXPECT_EQ(status.slots[1].state, "starting");
  EXPECT_FALSE(status.slots[0].container_id.empty());
}

// -- what the pool reports about itself -----------------------------------------------------

TEST_F(supervisor_test, every_role_measures_itself_from_the_start) {
  start_with_min(2);
  pass({8000, 8001});
  for (auto role : {"supervisor", "balancer", "health_checker"}) {
    auto s = series_of(role);
    EXPECT_EQ(s.alive, 1u) << role;
    EXPECT_GT(s.messages_total(), 0u) << role;
  }
  // The scaler waits for the first request: alive, nothing handled yet.
  EXPECT_EQ(series_of("scaler").alive, 1u);
  for (uint16_t port : {8000, 8001}) {
    auto s = series_of("container", port);
    EXPECT_EQ(s.alive, 1u) << port;
    EXPECT_EQ(s.messages["launch"], 1u) << port;
  }
  EXPECT_GE(series_of("supervisor").messages["started"], 2u);
}

TEST_F(supervisor_test, a_death_is_counted_logged_and_its_replacement_too) {
  start_with_min(1);
  pass({8000});
  auto old_id = slot_at(8000).container_id;
  died(8000);
  pass({8000});
  auto status = ask<pool_status>(sup, caf::get_atom_v, atom::status_v);
  EXPECT_EQ(status.event_counts["died"], 1u);
  EXPECT_EQ(status.event_counts["killed"], 1u);
  EXPECT_EQ(status.event_counts["replaced"], 1u);
  EXPECT_EQ(status.event_counts["created"], 2u); // the first and the replacement
  EXPECT_EQ(status.event_counts["ready"], 2u);
  EXPECT_EQ(status.event_counts["removed"], 1u);
  EXPECT_EQ(status.deaths["signal"], 1u); // exit 137
  std::vector<std::string> kinds;
  for (auto& e : status.events)
    kinds.push_back(e.event + " " + std::to_string(e.port));
  EXPECT_EQ(kinds, (std::vector<std::string>{"created 8000", "started 8000", "ready 8000",
                                             "died 8000", "killed 8000", "replaced 8000",
                                             "removed 8000", "started 8000", "ready 8000"}));
  EXPECT_EQ(status.events[3].container, old_id.substr(0, 12));
  EXPECT_EQ(status.events[3].detail, "exit 137");
  // The old container's actor is gone, its replacement's lives: one series.
  auto s = series_of("container", 8000);
  EXPECT_EQ(s.spawned, 2u);
  EXPECT_EQ(s.alive, 1u);
  EXPECT_EQ(s.exited["normal"], 1u);
  // The supervisor heard of the old actor's end as a down message, timed
  // like any other. Regression: it was timed twice, nested, and the outer
  // measure ran from 0, a handling time of hours in the +Inf bucket.
  auto sup_series = series_of("supervisor");
  EXPECT_EQ(sup_series.messages["down"], 1u);
  EXPECT_EQ(sup_series.handling.buckets.back(), 0u);
}

TEST_F(supervisor_test, scale_decisions_show_in_the_event_log_but_not_as_container_events) {
  start(1);
  scale(3);
  auto status = ask<pool_status>(sup, caf::get_atom_v, atom::status_v);
  ASSERT_FALSE(status.events.empty());
  auto scale_event = std::find_if(status.events.begin(), status.events.end(),
                                  [](const lifecycle_event& e) { return e.event == "scale"; });
  ASSERT_NE(scale_event, status.events.end());
  EXPECT_EQ(scale_event->detail, "1 -> 3");
  EXPECT_EQ(status.event_counts.count("scale"), 0u);
  EXPECT_EQ(status.min_containers, 1u);
  EXPECT_EQ(status.max_containers, cfg.pool.max_containers);
}

TEST(exit_class, names_clean_errors_signals_and_oom) {
  EXPECT_STREQ(exit_class(0, false), "clean");
  EXPECT_STREQ(exit_class(1, false), "error");
  EXPECT_STREQ(exit_class(127, false), "error");
  EXPECT_STREQ(exit_class(137, false), "signal");
  EXPECT_STREQ(exit_class(137, true), "oom");
}

TEST_F(supervisor_test, event_log_keeps_only_the_latest_events) {
  start_with_min(1);
  pass({8000});
  for (size_t i = 0; i < supervisor_state::max_events; ++i) {
    died(8000);
    pass({8000});
  }
  auto status = ask<pool_status>(sup, caf::get_atom_v, atom::status_v);
  EXPECT_EQ(status.events.size(), supervisor_state::max_events);
  EXPECT_EQ(status.event_counts["died"], supervisor_state::max_events);
}

// The fake's list filters by label as the engine does: a restarted corral
// must find its pool by labels, never by name.
TEST(fake_runtime, lists_only_containers_that_carry_every_label_asked_for) {
  fake_runtime rt;
  container_spec a;
  a.name = "a-8000";
  a.labels = {{"corral.pool", "a"}, {"corral.port", "8000"}};
  container_spec b = a;
  b.name = "b-8000";
  b.labels["corral.pool"] = "b";
  ASSERT_TRUE(rt.create(a));
  ASSERT_TRUE(rt.create(b));
  auto listed = rt.list({{"corral.pool", "a"}});
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().name, "a-8000");
  EXPECT_EQ(rt.list({{"corral.pool", "a"}, {"corral.port", "8001"}})->size(), 0u);
  EXPECT_EQ(rt.list({})->size(), 2u);
}

// -- with real threads: container actors detached, as in production -----------------------

namespace {

/// Polls `ok` until it holds or `deadline` passed.
bool eventually(std::chrono::milliseconds deadline, const std::function<bool()>& ok) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (!ok()) {
    if (std::chrono::steady_clock::now() >= end)
      return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

/// What the shutdown client saw, in the order its answers arrived.
struct shutdown_record {
  std::mutex mutex;
  bool answered = false;
  size_t containers_at_answer = 0;
  size_t blocked_at_answer = 0;
  bool answered_before_status = false;
  std::promise<void> status_seen;
  std::promise<void> answer_seen;
};

} // namespace

// On the test scheduler every container actor finishes its removal before
// the test looks, so a supervisor that answered the shutdown at once would
// pass there too. Here the container actors run on threads of their own and
// the engine is slow to remove: the shutdown must not be answered while a
// container actor is still busy with its removal.
TEST(supervisor_threads_test, shutdown_waits_for_container_actors_busy_in_the_engine) {
  log::set_level(log::level::error);
  caf::actor_system_config sys_cfg;
  sys_cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{sys_cfg};
  supervisor_config cfg;
  cfg.pool.name = "acts";
  cfg.pool.start_port = 8000;
  cfg.pool.min_containers = 2;
  cfg.pool.max_containers = 2;
  cfg.health.interval = 1s;
  cfg.health.start_interval = 50ms;
  cfg.health.start_timeout = 60s;
  cfg.scaling.interval = 120s;
  cfg.detach_containers = true;
  auto rt = std::make_shared<fake_runtime>();
  auto probes = std::make_shared<fake_prober>();
  auto sup = sys.spawn(supervisor, cfg, rt, probes);
  ASSERT_TRUE(eventually(10s, [&] { return rt->running().size() == 2; }));
  rt->hold("remove");

  auto record = std::make_shared<shutdown_record>();
  // The record goes in as a spawn argument: CAF 0.17.6 binds a reference to a
  // null tuple when an actor is spawned with none (UBSan reports it).
  auto client = sys.spawn([sup, rt](caf::event_based_actor* self,
                                    std::shared_ptr<shutdown_record> record) -> caf::behavior {
    return {
      [=](caf::ok_atom) {
        self->request(sup, caf::infinite, atom::shutdown_v, false).then([=](bool) {
          std::lock_guard guard{record->mutex};
          record->answered = true;
          record->containers_at_answer = rt->size();
          record->blocked_at_answer = rt->wait_held("remove", 1, 0ms) ? 1 : 0;
          record->answer_seen.set_value();
        });
      },
      // Asked after the shutdown: the supervisor answers in order, so a
      // shutdown answered at once would have arrived before this one.
      [=](caf::get_atom) {
        self->request(sup, caf::infinite, caf::get_atom_v, atom::status_v)
          .then([=](const pool_status&) {
            std::lock_guard guard{record->mutex};
            record->answered_before_status = record->answered;
            record->status_seen.set_value();
          });
      },
    };
  }, record);
  auto status_seen = record->status_seen.get_future();
  auto answer_seen = record->answer_seen.get_future();
  caf::anon_send(client, caf::ok_atom_v);
  // Both container actors are inside remove(), and stay there.
  ASSERT_TRUE(rt->wait_held("remove", 2, 10s)) << "the container actors never removed";
  caf::anon_send(client, caf::get_atom_v);
  ASSERT_EQ(status_seen.wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(record->answered_before_status)
    << "the shutdown was answered while the containers were still being removed";
  rt->release("remove");
  ASSERT_EQ(answer_seen.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(record->containers_at_answer, 0u);
  EXPECT_EQ(record->blocked_at_answer, 0u);
  caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  probes->clear();
}
