// The SCALER with a real balancer: windows, the rule, the stabilisers.
#include "actors/balancer.hpp"
#include "actors/scaler.hpp"

#include "tests/unit/actor_test.hpp"
#include "tests/unit/recorders.hpp"

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

namespace {

class scaler_test : public actor_test {
protected:
  void spawn_scaler(scaling_start start = scaling_start::first_request,
                    uint32_t scale_down_after = 1, uint32_t max_step = 0) {
    scaling_settings settings;
    settings.interval = 2s;
    settings.requests_per_container = 20;
    settings.start = start;
    settings.scale_down_after = scale_down_after;
    settings.max_step = max_step;
    owner = sys.spawn(record_balancer_events, std::make_shared<recording>());
    bal = sys.spawn(balancer, owner, balancer_settings{}, census);
    scale_rec = std::make_shared<recording>();
    supervisor = sys.spawn(record_scale_requests, scale_rec);
    sc = sys.spawn(scaler, supervisor, bal, settings, 1u, 10u, census);
    self->send(bal, atom::up_v, uint16_t{8000});
    run();
  }

  ~scaler_test() override {
    for (auto hdl : {caf::actor_cast<caf::actor>(sc), caf::actor_cast<caf::actor>(bal),
                     caf::actor_cast<caf::actor>(owner),
                     caf::actor_cast<caf::actor>(supervisor)})
      caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
    run();
  }

  /// `n` fresh requests go through the balancer.
  void requests(uint32_t n) {
    self->send(bal, atom::next_v, port_ask{n, 0, {}, {}, std::make_shared<discard_ports>()});
    run();
  }

  balancer_listener_actor owner;
  balancer_actor bal;
  std::shared_ptr<recording> scale_rec;
  scale_listener_actor supervisor;
  scaler_actor sc;
};

} // namespace

TEST_F(scaler_test, first_window_waits_for_the_first_request) {
  spawn_scaler();
  advance(10s);
  EXPECT_TRUE(scale_rec->events.empty());
  EXPECT_FALSE(state_of<scaler_state>(sc).window_open);
  requests(45);
  self->send(sc, atom::traffic_v); // what the supervisor forwards
  run();
  advance(1999ms);
  EXPECT_TRUE(scale_rec->events.empty());
  advance(1ms);
  EXPECT_EQ(scale_rec->events, (std::vector<std::string>{"scale 3"}));
}

TEST_F(scaler_test, startup_mode_opens_the_first_window_at_once) {
  spawn_scaler(scaling_start::startup);
  requests(20);
  advance(2s);
  EXPECT_EQ(scale_rec->events, (std::vector<std::string>{"scale 2"}));
}

TEST_F(scaler_test, busy_window_then_quiet_window_grows_then_shrinks) {
  spawn_scaler(scaling_start::startup);
  requests(45);
  advance(2s);
  advance(2s); // nothing in the second window: the count was reset
  EXPECT_EQ(scale_rec->events, (std::vector<std::string>{"scale 3", "scale 1"}));
}

TEST_F(scaler_test, unchanged_size_sends_nothing) {
  spawn_scaler(scaling_start::startup);
  requests(19);
  advance(2s);
  EXPECT_TRUE(scale_rec->events.empty());
}

TEST_F(scaler_test, size_is_clamped_to_max) {
  spawn_scaler(scaling_start::startup);
  requests(5000);
  advance(2s);
  EXPECT_EQ(scale_rec->events, (std::vector<std::string>{"scale 10"}));
}

TEST_F(scaler_test, scale_down_after_k_quiet_windows) {
  spawn_scaler(scaling_start::startup, 3);
  requests(60);
  advance(2s);
  advance(2s);
  advance(2s);
  EXPECT_EQ(scale_rec->events, (std::vector<std::string>{"scale 4"}));
  advance(2s);
  EXPECT_EQ(scale_rec->events, (std::vector<std::string>{"scale 4", "scale 1"}));
}

TEST_F(scaler_test, max_step_limits_each_decision) {
  spawn_scaler(scaling_start::startup, 1, 2);
  requests(200);
  advance(2s);
  requests(200);
  advance(2s);
  EXPECT_EQ(scale_rec->events, (std::vector<std::string>{"scale 3", "scale 5"}));
}

// -- what the scaler reports about itself --------------------------------------------------

TEST_F(scaler_test, every_window_counts_one_decision_with_its_reason) {
  spawn_scaler(scaling_start::startup, 2);
  requests(45);
  advance(2s); // 1 -> 3: the rule
  advance(2s); // wants 1; waits one more window
  requests(5000);
  advance(2s); // wants 251: capped at 10
  auto status = ask<scaler_status>(sc, caf::get_atom_v, atom::status_v);
  EXPECT_EQ(status.windows, 3u);
  EXPECT_EQ(status.last_window_requests, 5000u);
  using key = std::pair<std::string, std::string>;
  EXPECT_EQ(status.decisions, (std::map<key, uint64_t>{{{"up", "rule"}, 1},
                                                       {{"hold", "stabilising"}, 1},
                                                       {{"up", "bounds"}, 1}}));
  EXPECT_EQ(status.last.from, 3u);
  EXPECT_EQ(status.last.to, 10u);
  EXPECT_EQ(status.last.direction, "up");
  EXPECT_EQ(status.last.reason, "bounds");
  auto s = series_of("scaler");
  EXPECT_EQ(s.messages["tick"], 3u);
  EXPECT_EQ(s.messages["response"], 5u); // 3 counts from the balancer, 2 scale answers
  EXPECT_EQ(s.messages["get_status"], 1u);
}
