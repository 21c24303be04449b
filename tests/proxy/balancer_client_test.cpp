// The CAF-backed port source against a stand-in balancer on a real actor
// system (normal scheduler): batching, reports, and a balancer that dies.
#include "proxy/balancer_client.hpp"

#include "actors/actors.hpp"
#include "actors/balancer.hpp"
#include "proxy/proxy_server.hpp"
#include "tests/proxy/support.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace corral::test {
namespace {

namespace net = boost::asio;

/// What the stand-in balancer received, shared with the test thread.
struct probe {
  struct message {
    uint32_t fresh = 0;
    uint32_t retries = 0;
    std::vector<uint16_t> finished;
    std::vector<uint16_t> failed;
    bool has_reply = false;
  };

  void record(const port_ask& ask) {
    {
      std::lock_guard guard{mutex};
      messages.push_back({ask.fresh, ask.retries, ask.finished, ask.failed,
                          ask.reply != nullptr});
    }
    cv.notify_all();
  }

  std::vector<message> snapshot() const {
    std::lock_guard guard{mutex};
    return messages;
  }

  /// Sums `count(message)` over the messages so far.
  template <class Count>
  size_t total(Count count) const {
    std::lock_guard guard{mutex};
    return sum(count);
  }

  /// Waits until the total reaches `n`; false after the deadline.
  template <class Count>
  bool wait_for(Count count, size_t n) {
    std::unique_lock lock{mutex};
    return cv.wait_for(lock, 5s, [&] { return sum(count) == n; });
  }

  size_t finished() const {
    return total([](const message& m) { return m.finished.size(); });
  }

  size_t failed() const {
    return total([](const message& m) { return m.failed.size(); });
  }

  size_t fresh() const {
    return total([](const message& m) { return m.fresh; });
  }

  mutable std::mutex mutex;
  std::condition_variable cv;
  std::vector<message> messages;

private:
  template <class Count>
  size_t sum(Count count) const {
    size_t n = 0;
    for (auto& m : messages)
      n += count(m);
    return n;
  }
};

struct stand_in_state {
  std::vector<uint16_t> ports;
  size_t cursor = 0;
  /// Hold asks while no backend is up, instead of answering "none".
  bool hold = false;
  std::vector<port_ask> held;
  std::shared_ptr<probe> seen;
  static inline const char* name = "stand-in balancer";

  void answer(port_ask& ask) {
    std::vector<uint16_t> out;
    if (!ports.empty())
      for (uint32_t i = 0; i < ask.fresh + ask.retries; ++i)
        out.push_back(ports[cursor++ % ports.size()]);
    ask.reply->deliver(std::move(out));
  }
};

/// Implements balancer_actor just enough: strict round robin over `ports`,
/// every message recorded in the probe.
balancer_actor::behavior_type
stand_in(balancer_actor::stateful_pointer<stand_in_state> self,
         std::vector<uint16_t> ports, bool hold, std::shared_ptr<probe> seen) {
  self->state.ports = std::move(ports);
  self->state.hold = hold;
  self->state.seen = std::move(seen);
  return {
    [=](atom::next, port_ask& ask) {
      auto& st = self->state;
      // Recorded before the answer goes out: a test that got the answer
      // finds the message in the probe.
      st.seen->record(ask);
      if (!ask.reply)
        return;
      if (st.hold && st.ports.empty())
        st.held.push_back(std::move(ask));
      else
        st.answer(ask);
    },
    [=](atom::up, uint16_t port) {
      auto& st = self->state;
      st.ports.push_back(port);
      for (auto& ask : st.held)
        st.answer(ask);
      st.held.clear();
    },
    [=](atom::down, uint16_t port) { std::erase(self->state.ports, port); },
    [=](atom::drain, uint16_t, caf::timespan) { return true; },
    [=](atom::count) { return uint64_t{0}; },
    [=](caf::get_atom, atom::status) { return balancer_status{}; },
    [=](atom::reload, const balancer_settings&) {},
    [=](caf::timeout_atom, uint16_t, uint64_t) {},
    [=](caf::timeout_atom, uint64_t) {},
  };
}

/// Hears what corral's balancer tells its owner, and only counts it in
/// `heard`: a spawn argument, because CAF 0.17.6 binds a reference to a null
/// tuple when an actor is spawned with none (UBSan reports it).
balancer_listener_actor::behavior_type silent_listener(std::shared_ptr<std::atomic<int>> heard) {
  return {
    [=](atom::suspect, uint16_t) { ++*heard; },
    [=](atom::traffic) { ++*heard; },
  };
}

/// Records the answers of the waiters it makes.
struct answers {
  struct waiter final : port_waiter {
    explicit waiter(answers& owner) : owner(owner) {
    }
    void on_port(std::optional<uint16_t> port) override {
      owner.got.push_back(port);
    }
    answers& owner;
  };

  std::shared_ptr<port_waiter> make() {
    return std::make_shared<waiter>(*this);
  }

  std::vector<std::optional<uint16_t>> got;
};

caf::actor_system_config& normal_config(caf::actor_system_config& cfg) {
  cfg.set("scheduler.max-threads", 2);
  return cfg;
}

class balancer_client_test : public ::testing::Test {
protected:
  balancer_client_test()
    : sys(normal_config(cfg)),
      ioc(std::in_place, 1),
      work(net::make_work_guard(*ioc)),
      seen(std::make_shared<probe>()) {
  }

  ~balancer_client_test() override {
    // guides/caf-0.17.md §11: io first, then the actors, then the
    // io_context, all before the actor system.
    client.reset();
    if (balancer)
      caf::anon_send_exit(balancer, caf::exit_reason::user_shutdown);
    balancer = nullptr;
    sys.await_all_actors_done();
    work.reset();
    ioc.reset();
  }

  void spawn(std::vector<uint16_t> ports, bool hold = false) {
    balancer = sys.spawn(stand_in, std::move(ports), hold, seen);
    client = make_balancer_client(*ioc, caf::actor_cast<caf::actor>(balancer), counters);
  }

  /// Runs io handlers until `done` holds; false after the deadline.
  template <class Predicate>
  bool run_until(Predicate done, std::chrono::milliseconds deadline = 5s) {
    auto end = std::chrono::steady_clock::now() + deadline;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= end)
        return false;
      ioc->run_one_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  /// Returns once the stand-in handled every message sent before.
  void sync_with_balancer() {
    caf::scoped_actor self{sys};
    self->request(balancer, caf::infinite, caf::get_atom_v, atom::status{})
      .receive([](const balancer_status&) {},
               [](const caf::error& err) {
                 ADD_FAILURE() << "stand-in gone: " << to_string(err);
               });
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  std::optional<net::io_context> ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::shared_ptr<probe> seen;
  balancer_actor balancer;
  thread_counters counters;
  std::unique_ptr<port_source> client;
};

TEST_F(balancer_client_test, k_waiting_sessions_share_one_ask_of_k_ports) {
  spawn({8001, 8002, 8003});
  answers a;
  for (int i = 0; i < 7; ++i)
    client->async_next_port(a.make(), false);
  ASSERT_TRUE(run_until([&] { return a.got.size() == 7; }));
  std::vector<std::optional<uint16_t>> expected{8001, 8002, 8003, 8001,
                                                8002, 8003, 8001};
  EXPECT_EQ(a.got, expected);
  auto messages = seen->snapshot();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].fresh, 7u);
  EXPECT_EQ(messages[0].retries, 0u);
}

TEST_F(balancer_client_test, sessions_arriving_during_an_ask_wait_for_the_next) {
  // The stand-in holds asks until a backend is up, so the first ask stays
  // in flight as long as the test wants.
  spawn({}, true);
  answers a;
  client->async_next_port(a.make(), false);
  client->async_next_port(a.make(), false);
  ioc->poll(); // sends the first ask
  for (int i = 0; i < 3; ++i)
    client->async_next_port(a.make(), false);
  ioc->poll(); // must not send another ask while one is in flight
  sync_with_balancer();
  EXPECT_EQ(seen->snapshot().size(), 1u);
  caf::anon_send(balancer, atom::up{}, uint16_t{9001});
  ASSERT_TRUE(run_until([&] { return a.got.size() == 5; }));
  for (auto& port : a.got)
    EXPECT_EQ(port, uint16_t{9001});
  auto messages = seen->snapshot();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].fresh, 2u);
  EXPECT_EQ(messages[1].fresh, 3u);
}

// corral_balancer_round_trip_seconds counts one observation per port asked
// for, and corral_balancer_asks_per_batch one per message, of its size.
TEST_F(balancer_client_test, round_trips_count_every_port_and_batches_every_ask) {
  spawn({}, true);
  answers a;
  client->async_next_port(a.make(), false);
  client->async_next_port(a.make(), false);
  ioc->poll(); // the first ask: 2 ports, held by the stand-in
  for (int i = 0; i < 3; ++i)
    client->async_next_port(a.make(), i == 0);
  ioc->poll();
  sync_with_balancer();
  EXPECT_EQ(counters.snapshot().round_trip.count, 0u); // nobody got a port yet
  caf::anon_send(balancer, atom::up{}, uint16_t{9001});
  ASSERT_TRUE(run_until([&] { return a.got.size() == 5; }));
  auto stats = counters.snapshot();
  EXPECT_EQ(stats.round_trip.count, 5u);
  EXPECT_GT(stats.round_trip.sum, 0.0);
  // Two asks: one of 2 ports, one of 3 (a retry among them).
  EXPECT_EQ(stats.asks_per_batch.count, 2u);
  EXPECT_DOUBLE_EQ(stats.asks_per_batch.sum, 5.0);
  ASSERT_EQ(stats.asks_per_batch.bounds[1], 2.0);
  EXPECT_EQ(stats.asks_per_batch.buckets[1], 1u); // le 2
  EXPECT_EQ(stats.asks_per_batch.buckets[2], 1u); // le 4
}

TEST_F(balancer_client_test, retries_are_asked_apart_from_fresh_requests) {
  spawn({8001});
  answers a;
  client->async_next_port(a.make(), false);
  client->async_next_port(a.make(), true);
  client->async_next_port(a.make(), true);
  ASSERT_TRUE(run_until([&] { return a.got.size() == 3; }));
  auto messages = seen->snapshot();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].fresh, 1u);
  EXPECT_EQ(messages[0].retries, 2u);
}

TEST_F(balancer_client_test, reports_arrive_even_when_traffic_stops) {
  spawn({8001, 8002, 8003});
  answers a;
  for (int i = 0; i < 3; ++i)
    client->async_next_port(a.make(), false);
  ASSERT_TRUE(run_until([&] { return a.got.size() == 3; }));
  client->finished(8001);
  client->finished(8002);
  client->failed(8003);
  ASSERT_TRUE(
    run_until([&] { return seen->finished() == 2 && seen->failed() == 1; }));
  auto messages = seen->snapshot();
  ASSERT_EQ(messages.size(), 2u);
  // All three in one coalesced report, which asks for nothing.
  EXPECT_EQ(messages[1].finished, (std::vector<uint16_t>{8001, 8002}));
  EXPECT_EQ(messages[1].failed, (std::vector<uint16_t>{8003}));
  EXPECT_EQ(messages[1].fresh + messages[1].retries, 0u);
  EXPECT_FALSE(messages[1].has_reply);
}

TEST_F(balancer_client_test, reports_ride_along_with_the_next_ask) {
  spawn({8001});
  answers a;
  client->async_next_port(a.make(), false);
  ASSERT_TRUE(run_until([&] { return a.got.size() == 1; }));
  client->finished(8001);
  client->async_next_port(a.make(), false);
  ASSERT_TRUE(run_until([&] { return a.got.size() == 2; }));
  auto messages = seen->snapshot();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[1].finished, (std::vector<uint16_t>{8001}));
  EXPECT_EQ(messages[1].fresh, 1u);
}

TEST_F(balancer_client_test, no_ready_backend_answers_nothing) {
  spawn({});
  answers a;
  client->async_next_port(a.make(), false);
  ASSERT_TRUE(run_until([&] { return a.got.size() == 1; }));
  EXPECT_EQ(a.got[0], std::nullopt);
}

TEST_F(balancer_client_test, a_killed_balancer_answers_waiting_sessions_with_nothing) {
  spawn({}, true);
  answers a;
  for (int i = 0; i < 3; ++i)
    client->async_next_port(a.make(), false);
  ioc->poll();
  sync_with_balancer();
  ASSERT_EQ(seen->snapshot().size(), 1u); // the ask is held
  caf::anon_send_exit(balancer, caf::exit_reason::kill);
  ASSERT_TRUE(run_until([&] { return a.got.size() == 3; }));
  for (auto& port : a.got)
    EXPECT_EQ(port, std::nullopt);
  // Asks after its death are answered the same way, not lost.
  client->async_next_port(a.make(), false);
  ASSERT_TRUE(run_until([&] { return a.got.size() == 4; }));
  EXPECT_EQ(a.got[3], std::nullopt);
}

// The client against corral's own balancer: the contract both sides rely on.
TEST_F(balancer_client_test, the_real_balancer_hands_out_round_robin_and_settles) {
  auto listener = sys.spawn(silent_listener, std::make_shared<std::atomic<int>>(0));
  balancer = sys.spawn(::corral::balancer, listener, balancer_settings{}, nullptr);
  for (uint16_t port : {8001, 8002, 8003})
    caf::anon_send(balancer, atom::up{}, port);
  client = make_balancer_client(*ioc, caf::actor_cast<caf::actor>(balancer), counters);
  answers a;
  for (int i = 0; i < 5; ++i)
    client->async_next_port(a.make(), false);
  ASSERT_TRUE(run_until([&] { return a.got.size() == 5; }));
  std::vector<std::optional<uint16_t>> expected{8001, 8002, 8003, 8001, 8002};
  EXPECT_EQ(a.got, expected);
  // Reports without further traffic: every port settles, and a failed one
  // leaves the rotation at once.
  for (auto port : {8001, 8003, 8001, 8002})
    client->finished(port);
  client->failed(8002);
  ioc->poll();
  balancer_status status;
  auto settled = [&] {
    caf::scoped_actor self{sys};
    self->request(balancer, caf::infinite, caf::get_atom_v, atom::status{})
      .receive([&](balancer_status& s) { status = std::move(s); },
               [](const caf::error&) {});
    uint32_t in_flight = 0;
    for (auto& b : status.backends)
      in_flight += b.in_flight;
    return status.failed == 1 && in_flight == 0;
  };
  ASSERT_TRUE(run_until(settled));
  EXPECT_EQ(status.handed_out, 5u);
  client->async_next_port(a.make(), false);
  client->async_next_port(a.make(), false);
  ASSERT_TRUE(run_until([&] { return a.got.size() == 7; }));
  EXPECT_NE(a.got[5], uint16_t{8002});
  EXPECT_NE(a.got[6], uint16_t{8002});
  caf::anon_send_exit(listener, caf::exit_reason::user_shutdown);
}

// The whole front end with the real client: exact round robin through CAF.
TEST_F(balancer_client_test, proxy_with_balancer_client_spreads_exactly) {
  test_backend b1, b2, b3;
  spawn({b1.port(), b2.port(), b3.port()});
  auto balancer_handle = caf::actor_cast<caf::actor>(balancer);
  auto settings = test_settings();
  settings.threads = 2;
  {
    proxy_server server{settings, [&](net::io_context& io, unsigned,
                                      thread_counters& thread_counters) {
                          return make_balancer_client(io, balancer_handle, thread_counters);
                        }};
    server.start();
    EXPECT_EQ(get_concurrently(server.port(), 3, 20), 60u);
    EXPECT_EQ(b1.requests(), 20u);
    EXPECT_EQ(b2.requests(), 20u);
    EXPECT_EQ(b3.requests(), 20u);
    // Every port comes back as finished once traffic stops.
    EXPECT_TRUE(seen->wait_for([](const probe::message& m) {
      return m.finished.size();
    }, 60));
    // A dead balancer means 503, not a hang.
    caf::anon_send_exit(balancer, caf::exit_reason::kill);
    sys.await_all_actors_done();
    auto res = fetch(server.port());
    ASSERT_TRUE(res.ok) << res.error;
    EXPECT_EQ(res.status, 503u);
    server.shutdown();
  }
  EXPECT_EQ(seen->fresh(), 60u);
}

// A finished request changes nothing urgent: its report waits for the next
// ask instead of costing the balancer a message of its own.
TEST_F(balancer_client_test, finished_reports_wait_for_the_next_ask) {
  balancer = sys.spawn(stand_in, std::vector<uint16_t>{8001}, false, seen);
  client = make_balancer_client(*ioc, caf::actor_cast<caf::actor>(balancer), counters,
                                std::chrono::hours{1});
  answers a;
  client->async_next_port(a.make(), false);
  ASSERT_TRUE(run_until([&] { return a.got.size() == 1; }));
  client->finished(8001);
  // Everything the io thread has to do now, done: no report went out.
  ioc->poll();
  sync_with_balancer();
  EXPECT_EQ(seen->snapshot().size(), 1u);
  client->async_next_port(a.make(), false);
  ASSERT_TRUE(run_until([&] { return a.got.size() == 2; }));
  auto messages = seen->snapshot();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[1].finished, (std::vector<uint16_t>{8001}));
  EXPECT_EQ(messages[1].fresh, 1u);
}

// With no ask to ride along, the report timer sends finished reports alone.
TEST_F(balancer_client_test, finished_reports_go_alone_when_no_ask_comes) {
  spawn({8001, 8002});
  answers a;
  client->async_next_port(a.make(), false);
  client->async_next_port(a.make(), false);
  ASSERT_TRUE(run_until([&] { return a.got.size() == 2; }));
  client->finished(8001);
  client->finished(8002);
  ASSERT_TRUE(run_until([&] { return seen->finished() == 2; }));
  auto messages = seen->snapshot();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[1].finished, (std::vector<uint16_t>{8001, 8002}));
  EXPECT_FALSE(messages[1].has_reply);
}

} // namespace
} // namespace corral::test
