// The proxy's bounds and timeouts (issue 11): max_connections, the body
// budget, header_timeout (slowloris), idle_timeout, per-read inactivity for
// uploads and downloads, passive-check reports, retry_on = "5xx", and the
// admin listener's token. Real sockets on loopback, test backends.
#include "proxy/admin_server.hpp"
#include "proxy/limits.hpp"
#include "tests/proxy/support.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <future>
#include <optional>
#include <thread>

using namespace corral;
using namespace corral::test;

namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

class limits_test : public ::testing::Test {
protected:
  void start(proxy_settings settings) {
    server.emplace(settings, balancer.factory());
    server->start();
  }

  uint16_t port() const {
    return server->port();
  }

  test_backend backend;
  fake_balancer balancer{};
  std::optional<proxy_server> server;
};

client_request get(const std::string& target = "/") {
  client_request r;
  r.target = target;
  return r;
}

/// A plain blocking socket, for clients that misbehave on purpose.
struct raw_socket {
  net::io_context io;
  tcp::socket socket{io};

  explicit raw_socket(uint16_t port) {
    boost::system::error_code ec;
    socket.connect({net::ip::address_v4::loopback(), port}, ec);
  }

  bool send(std::string_view bytes) {
    boost::system::error_code ec;
    net::write(socket, net::buffer(bytes), ec);
    return !ec;
  }
};

} // namespace

// -- the pure parts --------------------------------------------------------------------------

TEST(connection_gate, stops_at_the_bound_and_wakes_the_listener_once_a_place_frees) {
  proxy::connection_gate gate{2};
  int resumed = 0;
  gate.on_room([&] { ++resumed; });
  EXPECT_TRUE(gate.try_enter());
  EXPECT_TRUE(gate.try_enter());
  EXPECT_FALSE(gate.try_enter());
  EXPECT_EQ(gate.open(), 2u);
  gate.leave();
  EXPECT_EQ(resumed, 1);
  gate.leave();
  EXPECT_EQ(resumed, 1); // only the stall is announced, once
  EXPECT_TRUE(gate.try_enter());
}

TEST(body_budget, refuses_what_would_go_past_it_and_takes_nothing_then) {
  proxy::body_budget budget{100};
  EXPECT_TRUE(budget.take(60));
  EXPECT_FALSE(budget.take(41));
  EXPECT_EQ(budget.used(), 60u);
  EXPECT_TRUE(budget.take(40));
  budget.give_back(60);
  EXPECT_TRUE(budget.take(60));
  EXPECT_FALSE(budget.take(~uint64_t{0})); // no overflow
}

TEST(default_max_connections, keeps_a_reserve_and_two_descriptors_per_connection) {
  EXPECT_EQ(proxy::default_max_connections(20000), (20000u - 512u) / 2);
  EXPECT_EQ(proxy::default_max_connections(1024), (1024u - 256u) / 2);
  EXPECT_EQ(proxy::default_max_connections(10), 16u);
}

// -- max_connections --------------------------------------------------------------------------

TEST_F(limits_test, past_max_connections_new_clients_wait_and_old_ones_are_served) {
  balancer.set_ports({backend.port()});
  auto settings = test_settings();
  settings.max_connections = 2;
  start(settings);
  test_client first{port()};
  auto second = std::make_unique<test_client>(port());
  ASSERT_EQ(first.send(get()).status, 200u);
  ASSERT_EQ(second->send(get()).status, 200u);
  // The third connects (the kernel's backlog takes it) but is not accepted.
  auto third = std::make_unique<test_client>(port());
  ASSERT_TRUE(third->write_raw("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(first.send(get()).status, 200u); // a round trip: the listener had its chance
  EXPECT_EQ(server->stats().connections_accepted, 2u);
  // Those already in keep getting answers.
  EXPECT_EQ(first.send(get()).status, 200u);
  // One leaves: the third is accepted and answered.
  second.reset();
  auto served = third->read_response(3s);
  EXPECT_TRUE(served.ok) << served.error;
  EXPECT_EQ(served.status, 200u);
}

// -- the body budget -------------------------------------------------------------------------

TEST_F(limits_test, bodies_past_max_buffered_get_503_at_once) {
  balancer.set_ports({backend.port()});
  auto settings = test_settings();
  settings.max_body = 1000;
  settings.max_buffered = 1500;
  start(settings);
  // One upload of 1000 bytes holds its budget while its body trickles in.
  raw_socket slow{port()};
  ASSERT_TRUE(slow.send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc"));
  eventually([&] { return server->stats().buffered_bytes >= 1000; }, 3s);
  ASSERT_EQ(server->stats().buffered_bytes, 1000u);
  test_client other{port()};
  client_request big;
  big.method = "POST";
  big.body = std::string(900, 'x');
  auto refused = other.send(big, 3s);
  ASSERT_TRUE(refused.ok) << refused.error;
  EXPECT_EQ(refused.status, 503u);
  EXPECT_EQ(backend.requests(), 0u);
  // A small one still fits.
  test_client small_client{port()};
  client_request small;
  small.method = "POST";
  small.body = std::string(400, 'y');
  EXPECT_EQ(small_client.send(small).status, 200u);
  EXPECT_EQ(server->stats().busy, 1u);
}

// -- timeouts ----------------------------------------------------------------------------------

TEST_F(limits_test, a_head_that_trickles_in_is_closed_after_header_timeout) {
  balancer.set_ports({backend.port()});
  auto settings = test_settings();
  settings.header_timeout = 300ms;
  start(settings);
  test_client slow{port()};
  ASSERT_TRUE(slow.write_raw("GET / HTTP/1.1\r\nHo"));
  auto started = std::chrono::steady_clock::now();
  // A byte now and then, never the end of the head. Straight to the socket:
  // this thread must not run the client's io_context while the test's
  // thread waits in closed_by_peer (TSan saw the two race).
  std::thread trickle{[&] {
    for (int i = 0; i < 5; ++i) {
      std::this_thread::sleep_for(100ms);
      if (!slow.send_now("s"))
        break;
    }
  }};
  EXPECT_TRUE(slow.closed_by_peer(3s));
  trickle.join();
  // Closed at the header timeout, while bytes were still coming.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_EQ(backend.requests(), 0u);
  EXPECT_EQ(server->stats().client_timeouts, 1u);
}

TEST_F(limits_test, an_idle_keep_alive_connection_is_closed_after_idle_timeout) {
  balancer.set_ports({backend.port()});
  auto settings = test_settings();
  settings.idle_timeout = 200ms;
  settings.header_timeout = 5s;
  start(settings);
  test_client client{port()};
  ASSERT_EQ(client.send(get()).status, 200u);
  EXPECT_TRUE(client.closed_by_peer(2s));
}

TEST_F(limits_test, a_slow_but_steady_upload_passes_a_stalled_one_is_closed) {
  balancer.set_ports({backend.port()});
  auto settings = test_settings();
  settings.client_timeout = 300ms; // per read
  start(settings);
  // 10 pieces 100 ms apart: 1 s in all, more than client_timeout, fine.
  test_client steady{port()};
  ASSERT_TRUE(steady.write_raw("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"));
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(100ms);
    ASSERT_TRUE(steady.write_raw("x"));
  }
  auto done = steady.read_response(3s);
  ASSERT_TRUE(done.ok) << done.error;
  EXPECT_EQ(done.status, 200u);
  EXPECT_EQ(done.body, std::string(10, 'x'));
  // A body that stops arriving.
  test_client stalled{port()};
  ASSERT_TRUE(stalled.write_raw("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nxx"));
  EXPECT_TRUE(stalled.closed_by_peer(3s));
  EXPECT_EQ(backend.requests(), 1u); // only the steady one
}

TEST_F(limits_test, a_large_answer_that_keeps_coming_is_not_cut_at_backend_timeout) {
  // A backend that sends its answer in pieces over longer than
  // backend_timeout, each piece well within it.
  net::io_context io;
  tcp::acceptor acceptor{io, {net::ip::address_v4::loopback(), 0}};
  std::thread slow_backend{[&] {
    tcp::socket s{io};
    acceptor.accept(s);
    char buf[4096];
    s.read_some(net::buffer(buf)); // the request
    net::write(s, net::buffer(std::string{"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n"}));
    for (int i = 0; i < 8; ++i) {
      std::this_thread::sleep_for(100ms);
      net::write(s, net::buffer(std::string{"d"}));
    }
  }};
  balancer.set_ports({acceptor.local_endpoint().port()});
  auto settings = test_settings();
  settings.backend_timeout = 300ms; // per read; the whole answer takes 800 ms
  start(settings);
  auto answer = fetch(port(), get());
  slow_backend.join();
  ASSERT_TRUE(answer.ok) << answer.error;
  EXPECT_EQ(answer.status, 200u);
  EXPECT_EQ(answer.body, "dddddddd");
}

// -- passive checks and retry_on ----------------------------------------------------------------

TEST_F(limits_test, a_5xx_answer_is_reported_bad_and_relayed_by_default) {
  backend.set_handler([](const seen_request&) { return backend_reply{500, {}, "broken"}; });
  balancer.set_ports({backend.port()});
  start(test_settings());
  auto answer = fetch(port(), get());
  EXPECT_EQ(answer.status, 500u);
  ASSERT_TRUE(balancer.wait_settled());
  EXPECT_EQ(balancer.bad(backend.port()), 1u);
  EXPECT_EQ(balancer.finished(backend.port()), 0u);
}

TEST_F(limits_test, retry_on_5xx_sends_an_idempotent_request_to_the_next_backend) {
  backend.set_handler([](const seen_request&) { return backend_reply{500, {}, "broken"}; });
  test_backend good;
  balancer.set_ports({backend.port(), good.port()});
  auto settings = test_settings();
  settings.retry_on_5xx = true;
  start(settings);
  auto answer = fetch(port(), get());
  EXPECT_EQ(answer.status, 200u);
  EXPECT_EQ(good.requests(), 1u);
  // A POST is not idempotent: its 500 reaches the client.
  balancer.set_ports({backend.port()});
  client_request post;
  post.method = "POST";
  post.body = "x";
  EXPECT_EQ(fetch(port(), post).status, 500u);
  ASSERT_TRUE(balancer.wait_settled());
  EXPECT_EQ(balancer.bad(backend.port()), 2u);
  EXPECT_EQ(server->stats().retries, 1u);
}

// -- the admin listener -------------------------------------------------------------------------

TEST(admin_token, every_path_but_healthz_needs_the_bearer_token) {
  admin_settings settings;
  settings.listen = {"127.0.0.1", 0};
  settings.token = "s3cret";
  admin_server admin{settings, [](std::string_view, admin_server::reply_function reply) {
                       reply(200, "text/plain", "ok\n");
                     }};
  admin.start();
  EXPECT_EQ(fetch(admin.port(), get("/healthz")).status, 200u);
  auto refused = fetch(admin.port(), get("/metrics"));
  EXPECT_EQ(refused.status, 401u);
  EXPECT_EQ(refused.header("WWW-Authenticate"), "Bearer realm=\"corral\"");
  auto wrong = get("/metrics");
  wrong.headers = {{"Authorization", "Bearer s3cres"}};
  EXPECT_EQ(fetch(admin.port(), wrong).status, 401u);
  auto right = get("/metrics");
  right.headers = {{"Authorization", "Bearer s3cret"}};
  EXPECT_EQ(fetch(admin.port(), right).status, 200u);
  admin.shutdown();
}

TEST(admin_bound, the_admin_listener_stops_accepting_at_its_own_bound) {
  admin_settings settings;
  settings.listen = {"127.0.0.1", 0};
  settings.max_connections = 1;
  admin_server admin{settings, [](std::string_view, admin_server::reply_function reply) {
                       reply(200, "text/plain", "ok\n");
                     }};
  admin.start();
  test_client holder{admin.port()};
  ASSERT_EQ(holder.send(get("/healthz")).status, 200u);
  test_client waiting{admin.port()};
  ASSERT_TRUE(waiting.write_raw("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  // A round trip on the one allowed connection; the other still waits.
  ASSERT_EQ(holder.send(get("/healthz")).status, 200u);
  auto still_waiting = std::async(std::launch::async, [&] { return waiting.read_response(3s); });
  EXPECT_EQ(still_waiting.wait_for(200ms), std::future_status::timeout);
  ASSERT_TRUE(holder.write_raw("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(holder.read_response(2s).status, 200u);
  auto served = still_waiting.get();
  EXPECT_TRUE(served.ok) << served.error;
  admin.shutdown();
}

// A client that goes away while its request is at the backend cancels the
// backend exchange: the port is settled at once, not at backend_timeout.
TEST_F(limits_test, a_client_that_leaves_cancels_the_backend_exchange) {
  backend.set_mode(backend_mode::hang);
  balancer.set_ports({backend.port()});
  auto settings = test_settings();
  settings.backend_timeout = 30s;
  start(settings);
  {
    test_client client{port()};
    ASSERT_TRUE(client.write_raw("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(backend.wait_for_requests(1));
  } // the client closes
  EXPECT_TRUE(balancer.wait_settled(2s)) << "the backend exchange was not cancelled";
  EXPECT_EQ(balancer.finished(backend.port()), 1u);
  EXPECT_EQ(server->stats().client_gone, 1u);
}
