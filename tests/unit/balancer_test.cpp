// The BALANCER on the test scheduler: round robin through batched asks,
// in-flight counting, drains, and what it tells its owner.
#include "actors/balancer.hpp"

#include "tests/unit/actor_test.hpp"
#include "tests/unit/recorders.hpp"

#include <map>

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

namespace {

/// Keeps what the balancer delivered for one ask.
struct captured_ports : port_sink {
  std::shared_ptr<std::vector<std::vector<uint16_t>>> answers;
  void deliver(std::vector<uint16_t> ports) override {
    answers->push_back(std::move(ports));
  }
};

class balancer_test : public actor_test {
protected:
  balancer_test() {
    rec = std::make_shared<recording>();
    listener = sys.spawn(record_balancer_events, rec);
    bal = sys.spawn(balancer, listener, settings, census);
    run();
  }

  ~balancer_test() override {
    caf::anon_send_exit(bal, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(listener, caf::exit_reason::user_shutdown);
    run();
  }

  void up(uint16_t port) {
    self->send(bal, atom::up_v, port);
    run();
  }

  /// One ask; returns the ports delivered.
  std::vector<uint16_t> ask_ports(uint32_t fresh, uint32_t retries = 0,
                                  std::vector<uint16_t> finished = {},
                                  std::vector<uint16_t> failed = {}) {
    auto sink = std::make_shared<captured_ports>();
    sink->answers = answers;
    port_ask ask{fresh, retries, std::move(finished), std::move(failed), sink};
    self->send(bal, atom::next_v, std::move(ask));
    run();
    if (answers->empty()) {
      ADD_FAILURE() << "no answer";
      return {};
    }
    auto result = answers->back();
    answers->clear();
    return result;
  }

  /// Reports bad answers (a 5xx, or one that broke off) without asking.
  void report_bad(std::vector<uint16_t> bad) {
    port_ask ask;
    ask.bad = std::move(bad);
    self->send(bal, atom::next_v, std::move(ask));
    run();
  }

  /// Reports finished or failed ports without asking.
  void report(std::vector<uint16_t> finished, std::vector<uint16_t> failed = {}) {
    port_ask ask{0, 0, std::move(finished), std::move(failed), nullptr};
    self->send(bal, atom::next_v, std::move(ask));
    run();
  }

  std::vector<uint16_t> rotation() {
    return state_of<balancer_state>(bal).rotation.ports();
  }

  uint32_t in_flight(uint16_t port) {
    return state_of<balancer_state>(bal).backends[port].in_flight;
  }

  /// Sends a drain; its answer comes back to `self` as a plain message
  /// whenever the balancer delivers it.
  void drain(uint16_t port, std::chrono::milliseconds timeout) {
    self->send(bal, atom::drain_v, port, caf::timespan{timeout});
    run();
  }

  /// Moves the drain answers that arrived so far into `drain_replies`.
  void collect_replies() {
    run();
    bool more = true;
    while (more)
      self->receive([this](bool drained) { drain_replies.push_back(drained); },
                    caf::after(std::chrono::seconds(0)) >> [&] { more = false; });
  }

  /// Waiting asks: 5 s at most, 10 requests at most; 3 bad answers in a
  /// row take a backend out.
  balancer_settings settings{queue_settings{std::chrono::milliseconds{5000}, 10}, 3};
  std::shared_ptr<recording> rec;
  balancer_listener_actor listener;
  balancer_actor bal;
  std::shared_ptr<std::vector<std::vector<uint16_t>>> answers
    = std::make_shared<std::vector<std::vector<uint16_t>>>();
  std::vector<bool> drain_replies;
};

} // namespace

TEST_F(balancer_test, hands_out_consecutive_ports_for_a_batch) {
  up(8000);
  up(8001);
  up(8002);
  EXPECT_EQ(ask_ports(4), (std::vector<uint16_t>{8000, 8001, 8002, 8000}));
  EXPECT_EQ(ask_ports(2), (std::vector<uint16_t>{8001, 8002}));
}

TEST_F(balancer_test, lands_exactly_even_across_three_backends) {
  up(8000);
  up(8001);
  up(8002);
  std::map<uint16_t, int> hits;
  // 100 asks of 1..5 ports (20 rounds of 1+2+3+4+5) = 300 ports in all.
  for (int i = 0; i < 100; ++i)
    for (auto port : ask_ports(static_cast<uint32_t>(1 + i % 5)))
      ++hits[port];
  EXPECT_EQ(hits[8000], 100);
  EXPECT_EQ(hits[8001], 100);
  EXPECT_EQ(hits[8002], 100);
}

TEST_F(balancer_test, no_ready_backend_answers_nothing_after_the_queue_timeout) {
  auto sink = std::make_shared<captured_ports>();
  sink->answers = answers;
  self->send(bal, atom::next_v, port_ask{3, 0, {}, {}, sink});
  run();
  EXPECT_TRUE(answers->empty()); // waits for a backend
  advance(4999ms);
  EXPECT_TRUE(answers->empty());
  advance(1ms);
  ASSERT_EQ(answers->size(), 1u);
  EXPECT_TRUE(answers->front().empty());
  EXPECT_EQ(state_of<balancer_state>(bal).no_backend, 3u);
  EXPECT_EQ(state_of<balancer_state>(bal).queue_timeouts, 3u);
  EXPECT_FALSE(rec->heard("traffic")); // nothing was proxied
}

// Issue 8: with one container, a kill costs latency, not errors: requests
// wait for the replacement instead of failing at once.
TEST_F(balancer_test, waiting_asks_get_ports_as_soon_as_a_backend_is_up_oldest_first) {
  auto first = std::make_shared<captured_ports>();
  first->answers = answers;
  self->send(bal, atom::next_v, port_ask{2, 0, {}, {}, first});
  auto second = std::make_shared<captured_ports>();
  second->answers = std::make_shared<std::vector<std::vector<uint16_t>>>();
  self->send(bal, atom::next_v, port_ask{1, 0, {}, {}, second});
  run();
  EXPECT_TRUE(answers->empty());
  EXPECT_EQ(ask<balancer_status>(bal, caf::get_atom_v, atom::status_v).queued_now, 3u);
  advance(1s);
  up(8000);
  up(8001);
  ASSERT_EQ(answers->size(), 1u);
  EXPECT_EQ(answers->front(), (std::vector<uint16_t>{8000, 8000}));
  ASSERT_EQ(second->answers->size(), 1u);
  EXPECT_EQ(second->answers->front(), (std::vector<uint16_t>{8000}));
  // The expired timers find nothing to refuse.
  advance(5s);
  auto status = ask<balancer_status>(bal, caf::get_atom_v, atom::status_v);
  EXPECT_EQ(status.queued_now, 0u);
  EXPECT_EQ(status.queued, 3u);
  EXPECT_EQ(status.queue_timeouts, 0u);
  EXPECT_EQ(status.no_backend, 0u);
  EXPECT_EQ(in_flight(8000), 3u);
}

TEST_F(balancer_test, a_full_queue_refuses_at_once_and_time_already_waited_counts) {
  // queue_max is 10: a second ask of 8 does not fit.
  auto big = std::make_shared<captured_ports>();
  big->answers = std::make_shared<std::vector<std::vector<uint16_t>>>();
  self->send(bal, atom::next_v, port_ask{8, 0, {}, {}, big});
  run();
  EXPECT_EQ(ask_ports(8), std::vector<uint16_t>{});
  // An ask whose requests waited 5 s already on their io thread: no time left.
  auto late = std::make_shared<captured_ports>();
  late->answers = answers;
  port_ask waited{1, 0, {}, {}, late};
  waited.waited = std::chrono::seconds(5);
  self->send(bal, atom::next_v, std::move(waited));
  run();
  ASSERT_EQ(answers->size(), 1u);
  EXPECT_TRUE(answers->front().empty());
  EXPECT_TRUE(big->answers->empty()); // still waiting
  EXPECT_EQ(state_of<balancer_state>(bal).queue_timeouts, 9u);
}

TEST_F(balancer_test, down_takes_a_port_out_at_once) {
  up(8000);
  up(8001);
  self->send(bal, atom::down_v, uint16_t{8000});
  run();
  EXPECT_EQ(ask_ports(3), (std::vector<uint16_t>{8001, 8001, 8001}));
}

TEST_F(balancer_test, failed_port_leaves_rotation_and_owner_hears_suspect) {
  up(8000);
  up(8001);
  auto ports = ask_ports(1);
  ASSERT_EQ(ports, (std::vector<uint16_t>{8000}));
  // The retry in the same ask must already avoid the failed port.
  EXPECT_EQ(ask_ports(0, 1, {}, {8000}), (std::vector<uint16_t>{8001}));
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8001}));
  EXPECT_TRUE(rec->heard("suspect 8000"));
  EXPECT_EQ(in_flight(8000), 0u);
}

TEST_F(balancer_test, first_proxied_request_is_reported_once) {
  up(8000);
  ask_ports(2);
  ask_ports(5);
  EXPECT_EQ(std::count(rec->events.begin(), rec->events.end(), "traffic"), 1);
}

TEST_F(balancer_test, count_returns_fresh_requests_of_the_window_and_resets) {
  up(8000);
  ask_ports(5, 2); // two retries do not count
  ask_ports(3);
  EXPECT_EQ(ask<uint64_t>(bal, atom::count_v), 8u);
  EXPECT_EQ(ask<uint64_t>(bal, atom::count_v), 0u);
}

TEST_F(balancer_test, counts_requests_in_flight_until_reported) {
  up(8000);
  ask_ports(3);
  EXPECT_EQ(in_flight(8000), 3u);
  report({8000, 8000});
  EXPECT_EQ(in_flight(8000), 1u);
  report({8000, 8000}); // a stray extra report never goes below zero
  EXPECT_EQ(in_flight(8000), 0u);
}

TEST_F(balancer_test, drain_without_in_flight_answers_true_at_once) {
  up(8000);
  up(8001);
  drain(8001, 10s);
  collect_replies();
  EXPECT_EQ(drain_replies, (std::vector<bool>{true}));
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8000}));
}

TEST_F(balancer_test, drain_answers_when_the_last_request_finishes) {
  up(8000);
  up(8001);
  EXPECT_EQ(ask_ports(2), (std::vector<uint16_t>{8000, 8001}));
  drain(8001, 10s);
  collect_replies();
  EXPECT_TRUE(drain_replies.empty());
  // No new request goes to the draining port meanwhile.
  EXPECT_EQ(ask_ports(2), (std::vector<uint16_t>{8000, 8000}));
  report({8001});
  collect_replies();
  EXPECT_EQ(drain_replies, (std::vector<bool>{true}));
}

TEST_F(balancer_test, drain_gives_up_at_its_timeout) {
  up(8000);
  ask_ports(1);
  drain(8000, 10s);
  advance(9s);
  collect_replies();
  EXPECT_TRUE(drain_replies.empty());
  advance(1s);
  collect_replies();
  EXPECT_EQ(drain_replies, (std::vector<bool>{false}));
}

TEST_F(balancer_test, port_coming_back_during_a_drain_cancels_it) {
  up(8000);
  ask_ports(1);
  drain(8000, 10s);
  up(8000);
  collect_replies();
  EXPECT_EQ(drain_replies, (std::vector<bool>{false}));
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8000}));
}

TEST_F(balancer_test, status_shows_rotation_and_in_flight) {
  up(8000);
  up(8001);
  ask_ports(3);
  auto status = ask<balancer_status>(bal, caf::get_atom_v, atom::status_v);
  ASSERT_EQ(status.backends.size(), 2u);
  EXPECT_EQ(status.backends[0].port, 8000);
  EXPECT_EQ(status.backends[0].in_flight, 2u);
  EXPECT_EQ(status.backends[1].in_flight, 1u);
  EXPECT_EQ(status.handed_out, 3u);
  EXPECT_EQ(status.window_requests, 3u);
}

// -- what the balancer reports about itself ------------------------------------------------

TEST_F(balancer_test, measures_each_message_it_handles_by_kind) {
  up(8000);
  up(8001);
  for (int i = 0; i < 3; ++i)
    ask_ports(2);
  auto s = series_of("balancer");
  EXPECT_EQ(s.alive, 1u);
  EXPECT_EQ(s.spawned, 1u);
  EXPECT_EQ(s.messages["up"], 2u);
  EXPECT_EQ(s.messages["next"], 3u);
  EXPECT_EQ(s.handling.count, 5u);
  EXPECT_EQ(s.mailbox, 0u);
}

TEST_F(balancer_test, mailbox_high_water_counts_what_waited_behind_a_message) {
  up(8000);
  // Five messages queue up before the scheduler runs the balancer: the
  // first one handled had four waiting behind it.
  for (int i = 0; i < 5; ++i)
    self->send(bal, atom::down_v, uint16_t{9000});
  run();
  auto s = series_of("balancer");
  EXPECT_EQ(s.mailbox_max, 4u);
  EXPECT_EQ(s.mailbox, 0u);
  EXPECT_EQ(s.messages["down"], 5u);
}

TEST_F(balancer_test, status_totals_per_port_never_reset_when_a_port_rejoins) {
  up(8000);
  ask_ports(3);
  self->send(bal, atom::down_v, uint16_t{8000});
  up(8000);
  ask_ports(2);
  auto status = ask<balancer_status>(bal, caf::get_atom_v, atom::status_v);
  ASSERT_EQ(status.requests_by_port.size(), 1u);
  EXPECT_EQ(status.requests_by_port[0].port, 8000);
  EXPECT_EQ(status.requests_by_port[0].requests, 5u);
  EXPECT_EQ(status.ready, 1u);
  ASSERT_EQ(status.backends.size(), 1u);
  EXPECT_EQ(status.backends[0].served, 2u); // since it rejoined
}

TEST_F(balancer_test, exit_is_counted_with_its_reason) {
  caf::anon_send_exit(bal, caf::exit_reason::user_shutdown);
  run();
  auto s = series_of("balancer");
  EXPECT_EQ(s.alive, 0u);
  EXPECT_EQ(s.exited["user_shutdown"], 1u);
}

// -- passive checks and the ejection cap (issue 11) ------------------------------------------

TEST_F(balancer_test, bad_answers_in_a_row_take_a_backend_out_and_have_it_rechecked) {
  up(8000);
  up(8001);
  up(8002);
  ask_ports(6);
  report_bad({8000, 8000});
  report({8000}); // a good answer in between: the streak starts again
  report_bad({8000, 8000});
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8000, 8001, 8002}));
  EXPECT_FALSE(rec->heard("suspect 8000"));
  ask_ports(3);
  report_bad({8000});
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8001, 8002}));
  EXPECT_TRUE(rec->heard("suspect 8000"));
  EXPECT_EQ(ask<balancer_status>(bal, caf::get_atom_v, atom::status_v).ejections, 1u);
  // Back once it passed its re-check.
  up(8000);
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8000, 8001, 8002}));
}

TEST_F(balancer_test, bad_answers_never_take_more_than_half_of_the_ready_backends_out) {
  up(8000);
  up(8001);
  up(8002);
  ask_ports(6);
  report_bad({8000, 8000, 8000}); // out
  report_bad({8001, 8001, 8001}); // 2 of 3 out would be more than half
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8001, 8002}));
  EXPECT_TRUE(rec->heard("suspect 8000"));
  EXPECT_FALSE(rec->heard("suspect 8001"));
  auto status = ask<balancer_status>(bal, caf::get_atom_v, atom::status_v);
  EXPECT_EQ(status.ejections, 1u);
  EXPECT_EQ(status.ejections_capped, 1u);
}

// A refused connection is not capped: nothing listens there, and with one
// container (issue 8) its requests must wait for the replacement, not fail
// on the dead port.
TEST_F(balancer_test, a_refused_connection_takes_even_the_last_backend_out) {
  up(8000);
  ask_ports(1);
  report({}, {8000});
  EXPECT_TRUE(rotation().empty());
  EXPECT_TRUE(rec->heard("suspect 8000"));
}

TEST_F(balancer_test, when_every_backend_looks_bad_it_keeps_balancing_over_all) {
  up(8000);
  ask_ports(5);
  report_bad({8000, 8000, 8000, 8000, 8000});
  // One backend: ejecting it would leave nothing; the probes decide alone.
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8000}));
  EXPECT_FALSE(rec->heard("suspect 8000"));
  EXPECT_EQ(ask_ports(2), (std::vector<uint16_t>{8000, 8000}));
}

TEST_F(balancer_test, passive_checks_can_be_turned_off) {
  settings.passive_failures = 0;
  self->send(bal, atom::reload_v, settings);
  up(8000);
  up(8001);
  ask_ports(8);
  report_bad({8000, 8000, 8000, 8000});
  EXPECT_EQ(rotation(), (std::vector<uint16_t>{8000, 8001}));
}
