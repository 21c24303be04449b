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
    bal = sys.spawn(balancer, owner);
    scale_rec = std::make_shared<recording>();
    supervisor = sys.spawn(record_scale_requests, scale_rec);
    sc = sys.spawn(scaler, supervisor, bal, settings, 1u, 10u);
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
