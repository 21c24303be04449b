// The reverse proxy end to end on loopback: in-process backends, a fake
// balancer that counts every port report, and a real HTTP client.
#include "proxy/proxy_server.hpp"
#include "tests/proxy/support.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

namespace corral::test {
namespace {

class proxy_test : public ::testing::Test {
protected:
  void start(proxy_settings settings = test_settings()) {
    server.emplace(settings, balancer.factory());
    server->start();
  }

  uint16_t port() const {
    return server->port();
  }

  /// The container-replaced scene: three GETs over one client connection
  /// leave pooled connections to a backend, which is then killed, and a
  /// replacement listens on the same port.
  struct replaced_backend {
    std::unique_ptr<test_client> client;
    std::unique_ptr<test_backend> replacement;
    uint16_t port = 0;
  };
  replaced_backend replace_a_pooled_backend();

  void TearDown() override {
    if (server)
      server->shutdown();
    // Every handed-out port came back exactly once.
    EXPECT_TRUE(balancer.wait_settled())
      << balancer.outstanding() << " ports not reported";
    for (auto& e : balancer.errors())
      ADD_FAILURE() << e;
  }

  fake_balancer balancer;
  std::optional<proxy_server> server;
};

client_request get(std::string target = "/") {
  client_request req;
  req.target = std::move(target);
  return req;
}

proxy_test::replaced_backend proxy_test::replace_a_pooled_backend() {
  auto old = std::make_unique<test_backend>();
  auto backend_port = old->port();
  balancer.set_ports({backend_port});
  start();
  auto client = std::make_unique<test_client>(port());
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(client->send(get()).status, 200u);
  old->kill();
  old.reset();
  return {std::move(client), std::make_unique<test_backend>(backend_port), backend_port};
}

client_request post(std::string body, std::string target = "/") {
  client_request req;
  req.method = "POST";
  req.target = std::move(target);
  req.body = std::move(body);
  return req;
}

// -- routing -----------------------------------------------------------------------

TEST_F(proxy_test, round_robin_across_three_backends_is_exact) {
  test_backend a, b, c;
  balancer.set_ports({a.port(), b.port(), c.port()});
  start();
  test_client client{port()};
  const uint16_t order[] = {a.port(), b.port(), c.port()};
  for (int i = 0; i < 300; ++i) {
    auto res = client.send(get());
    ASSERT_TRUE(res.ok) << res.error;
    ASSERT_EQ(res.status, 200u);
    EXPECT_EQ(res.header("X-Backend-Port"), std::to_string(order[i % 3]));
  }
  EXPECT_EQ(a.requests(), 100u);
  EXPECT_EQ(b.requests(), 100u);
  EXPECT_EQ(c.requests(), 100u);
  // Keep-alive towards the backends: one pooled connection each.
  EXPECT_EQ(a.connections(), 1u);
  EXPECT_EQ(b.connections(), 1u);
  EXPECT_EQ(c.connections(), 1u);
}

TEST_F(proxy_test, concurrent_clients_on_two_io_threads_spread_exactly) {
  test_backend a, b, c;
  balancer.set_ports({a.port(), b.port(), c.port()});
  auto settings = test_settings();
  settings.threads = 2;
  start(settings);
  EXPECT_EQ(get_concurrently(port(), 3, 100), 300u);
  EXPECT_EQ(a.requests(), 100u);
  EXPECT_EQ(b.requests(), 100u);
  EXPECT_EQ(c.requests(), 100u);
  EXPECT_EQ(server->stats().connections_accepted, 3u);
}

TEST_F(proxy_test, client_keep_alive_carries_many_requests) {
  test_backend a;
  balancer.set_ports({a.port()});
  start();
  test_client client{port()};
  for (int i = 0; i < 50; ++i) {
    auto res = client.send(get());
    ASSERT_TRUE(res.ok) << res.error;
    EXPECT_TRUE(res.keep_alive);
  }
  // Counted once each write completed: read them after the server stopped.
  server->shutdown();
  auto stats = server->stats();
  EXPECT_EQ(stats.connections_accepted, 1u);
  EXPECT_EQ(stats.requests, 50u);
  EXPECT_EQ(stats.responses_by_class[1], 50u);
  EXPECT_EQ(stats.latency.count, 50u);
  EXPECT_EQ(stats.backend_connects, 1u);
  EXPECT_EQ(stats.backend_reuses, 49u);
}

TEST_F(proxy_test, client_connection_close_is_honoured) {
  test_backend a;
  balancer.set_ports({a.port()});
  start();
  test_client client{port()};
  auto req = get();
  req.headers.emplace_back("Connection", "close");
  auto res = client.send(req);
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_FALSE(res.keep_alive);
  EXPECT_EQ(res.header("Connection"), "close");
  EXPECT_TRUE(client.closed_by_peer());
}

// -- what passes through -------------------------------------------------------------

TEST_F(proxy_test, method_target_headers_and_body_pass_through) {
  test_backend a;
  a.set_handler([](const seen_request&) {
    backend_reply r;
    r.status = 201;
    r.headers = {{"X-Reply", "yes"}, {"Content-Type", "application/json"}};
    r.body = R"({"id":7})";
    return r;
  });
  balancer.set_ports({a.port()});
  start();
  auto req = post("name=acts", "/api/v1/items?x=1");
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"X-Custom", "abc"},
                 {"Host", "example.test"}};
  auto res = fetch(port(), req);
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 201u);
  EXPECT_EQ(res.header("X-Reply"), "yes");
  EXPECT_EQ(res.header("Content-Type"), "application/json");
  EXPECT_EQ(res.body, R"({"id":7})");
  ASSERT_EQ(a.requests(), 1u);
  auto seen = a.seen().front();
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/api/v1/items?x=1");
  EXPECT_EQ(seen.version, 11u);
  EXPECT_EQ(seen.body, "name=acts");
  EXPECT_EQ(find_header(seen.headers, "X-Custom"), "abc");
  EXPECT_EQ(find_header(seen.headers, "Host"), "example.test");
  EXPECT_EQ(find_header(seen.headers, "Content-Length"), "9");
}

TEST_F(proxy_test, ten_megabyte_body_arrives_intact_both_ways) {
  test_backend a; // echoes the body
  balancer.set_ports({a.port()});
  start();
  std::string body(10 * 1024 * 1024, '\0');
  for (size_t i = 0; i < body.size(); ++i)
    body[i] = static_cast<char>('a' + (i * 7919) % 26);
  auto res = fetch(port(), post(body));
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 200u);
  ASSERT_EQ(a.requests(), 1u);
  EXPECT_TRUE(a.seen().front().body == body);
  EXPECT_EQ(res.body.size(), body.size());
  EXPECT_TRUE(res.body == body);
}

TEST_F(proxy_test, pipelined_posts_each_reach_the_backend_with_their_own_body) {
  // The body is read straight into place up to its Content-Length: not a
  // byte further, or the next request would lose its head.
  test_backend a; // echoes the body
  balancer.set_ports({a.port()});
  start();
  test_client client{port()};
  ASSERT_TRUE(client.write_raw("POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirst"
                               "POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nsecond"
                               "GET /three HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto one = client.read_response();
  auto two = client.read_response();
  auto three = client.read_response();
  ASSERT_TRUE(one.ok && two.ok && three.ok) << one.error << two.error << three.error;
  EXPECT_EQ(one.body, "first");
  EXPECT_EQ(two.body, "second");
  EXPECT_EQ(three.status, 200u);
  ASSERT_EQ(a.requests(), 3u);
  EXPECT_EQ(a.seen()[0].target, "/one");
  EXPECT_EQ(a.seen()[1].body, "second");
  EXPECT_EQ(a.seen()[2].target, "/three");
}

TEST_F(proxy_test, a_body_that_comes_after_its_head_in_pieces_arrives_whole) {
  test_backend a;
  balancer.set_ports({a.port()});
  start();
  test_client client{port()};
  // The start of the body comes with the head; the 100 Continue proves the
  // proxy has read that head before the rest of the body is even sent.
  ASSERT_TRUE(client.write_raw("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n"
                               "Expect: 100-continue\r\n\r\nhel"));
  auto interim = client.read_response();
  ASSERT_TRUE(interim.ok) << interim.error;
  ASSERT_EQ(interim.status, 100u);
  ASSERT_TRUE(client.write_raw("lo, "));
  ASSERT_TRUE(client.write_raw("world"));
  auto res = client.read_response();
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.body, "hello, world");
  ASSERT_EQ(a.requests(), 1u);
  EXPECT_EQ(a.seen().front().body, "hello, world");
}

TEST_F(proxy_test, chunked_request_reaches_the_backend_with_a_length) {
  test_backend a;
  balancer.set_ports({a.port()});
  start();
  auto req = post("chunked body");
  req.chunked = true;
  auto res = fetch(port(), req);
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.body, "chunked body");
  auto seen = a.seen().front();
  EXPECT_EQ(seen.body, "chunked body");
  EXPECT_EQ(find_header(seen.headers, "Content-Length"), "12");
  EXPECT_EQ(count_header(seen.headers, "Transfer-Encoding"), 0u);
}

TEST_F(proxy_test, body_over_max_body_gets_413_and_never_reaches_a_backend) {
  test_backend a;
  balancer.set_ports({a.port()});
  auto settings = test_settings();
  settings.max_body = 1024 * 1024;
  start(settings);
  test_client client{port()};
  auto res = client.send(post(std::string(2 * 1024 * 1024, 'x')));
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 413u);
  EXPECT_FALSE(res.keep_alive);
  EXPECT_EQ(a.requests(), 0u);
  EXPECT_EQ(balancer.fresh_asks(), 0u);
}

TEST_F(proxy_test, chunked_body_over_max_body_gets_413) {
  test_backend a;
  balancer.set_ports({a.port()});
  auto settings = test_settings();
  settings.max_body = 1024;
  start(settings);
  auto req = post(std::string(4096, 'x'));
  req.chunked = true;
  auto res = fetch(port(), req);
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 413u);
  EXPECT_EQ(a.requests(), 0u);
}

TEST_F(proxy_test, expect_100_continue_is_answered_by_the_proxy) {
  test_backend a;
  balancer.set_ports({a.port()});
  start();
  test_client client{port()};
  ASSERT_TRUE(client.write_raw("POST /up HTTP/1.1\r\nHost: x\r\n"
                               "Content-Length: 5\r\n"
                               "Expect: 100-continue\r\n\r\n"));
  auto interim = client.read_response();
  ASSERT_TRUE(interim.ok) << interim.error;
  EXPECT_EQ(interim.status, 100u);
  ASSERT_TRUE(client.write_raw("hello"));
  auto res = client.read_response();
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.body, "hello");
  EXPECT_EQ(count_header(a.seen().front().headers, "Expect"), 0u);
}

TEST_F(proxy_test, head_response_keeps_its_length_and_has_no_body) {
  test_backend a;
  balancer.set_ports({a.port()});
  start();
  test_client client{port()};
  client_request head;
  head.method = "HEAD";
  auto res = client.send(head);
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.header("Content-Length"),
            std::to_string(("port " + std::to_string(a.port())).size()));
  EXPECT_TRUE(res.body.empty());
  // The connection is still in step: the next answer is the next request's.
  auto next = client.send(get());
  ASSERT_TRUE(next.ok) << next.error;
  EXPECT_EQ(next.body, "port " + std::to_string(a.port()));
}

TEST_F(proxy_test, malformed_request_gets_400) {
  test_backend a;
  balancer.set_ports({a.port()});
  start();
  test_client client{port()};
  ASSERT_TRUE(client.write_raw("GET / HTTP/1.1\r\nBad Header\r\n\r\n"));
  auto res = client.read_response();
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 400u);
  EXPECT_TRUE(client.closed_by_peer());
  EXPECT_EQ(a.requests(), 0u);
}

// -- header rewriting ------------------------------------------------------------------

TEST_F(proxy_test, hop_by_hop_fields_are_dropped_towards_the_backend) {
  test_backend a;
  balancer.set_ports({a.port()});
  start();
  auto req = get();
  req.headers = {{"Connection", "keep-alive, X-Drop-Me"},
                 {"X-Drop-Me", "1"},
                 {"Keep-Alive", "timeout=300"},
                 {"Proxy-Connection", "keep-alive"},
                 {"TE", "trailers"},
                 {"Proxy-Authorization", "Basic Zm9vOmJhcg=="},
                 {"X-Keep-Me", "2"}};
  auto res = fetch(port(), req);
  ASSERT_TRUE(res.ok) << res.error;
  auto seen = a.seen().front().headers;
  for (auto name : {"Connection", "X-Drop-Me", "Keep-Alive",
                    "Proxy-Connection", "TE", "Proxy-Authorization"})
    EXPECT_EQ(count_header(seen, name), 0u) << name;
  EXPECT_EQ(find_header(seen, "X-Keep-Me"), "2");
}

TEST_F(proxy_test, hop_by_hop_fields_are_dropped_towards_the_client) {
  test_backend a;
  a.set_handler([](const seen_request&) {
    backend_reply r;
    r.headers = {{"Connection", "X-Secret"},
                 {"X-Secret", "internal"},
                 {"Keep-Alive", "timeout=5"},
                 {"Proxy-Authenticate", "Basic"},
                 {"Trailer", "X-Checksum"},
                 {"X-Public", "ok"}};
    r.body = "body";
    return r;
  });
  balancer.set_ports({a.port()});
  start();
  auto res = fetch(port(), get());
  ASSERT_TRUE(res.ok) << res.error;
  for (auto name : {"X-Secret", "Keep-Alive", "Proxy-Authenticate", "Trailer"})
    EXPECT_EQ(res.header(name), std::nullopt) << name;
  // Connection appears only as the proxy's own statement, never the
  // backend's token list.
  EXPECT_NE(res.header("Connection"), "X-Secret");
  EXPECT_EQ(res.header("X-Public"), "ok");
  EXPECT_EQ(res.body, "body");
}

TEST_F(proxy_test, chunked_backend_response_is_rechunked_for_the_client) {
  test_backend a;
  a.set_handler([](const seen_request&) {
    backend_reply r;
    r.body = std::string(100000, 'c');
    r.chunked = true;
    return r;
  });
  balancer.set_ports({a.port()});
  start();
  test_client client{port()};
  for (int i = 0; i < 3; ++i) {
    auto res = client.send(get());
    ASSERT_TRUE(res.ok) << res.error;
    EXPECT_EQ(res.header("Transfer-Encoding"), "chunked");
    EXPECT_EQ(res.body, std::string(100000, 'c'));
    EXPECT_TRUE(res.keep_alive);
  }
}

// Issue 11: by default a client's own forwarding fields are not believed:
// X-Forwarded-For is exactly the client, and Forwarded and the other
// X-Forwarded-* are corral's to write.
TEST_F(proxy_test, forwarding_fields_are_corrals_own_unless_trusted) {
  test_backend a;
  balancer.set_ports({a.port()});
  start();
  ASSERT_TRUE(fetch(port(), get()).ok);
  auto req = get();
  req.headers = {{"Host", "shop.example"},
                 {"X-Forwarded-For", "203.0.113.9"},
                 {"X-Forwarded-Host", "evil.example"},
                 {"Forwarded", "for=203.0.113.9"},
                 {"Via", "1.1 edge"}};
  ASSERT_TRUE(fetch(port(), req).ok);
  auto seen = a.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(find_header(seen[0].headers, "X-Forwarded-For"), "127.0.0.1");
  EXPECT_EQ(find_header(seen[0].headers, "Via"), "1.1 corral");
  auto& h = seen[1].headers;
  EXPECT_EQ(find_header(h, "X-Forwarded-For"), "127.0.0.1");
  EXPECT_EQ(count_header(h, "X-Forwarded-For"), 1u);
  EXPECT_EQ(find_header(h, "X-Forwarded-Proto"), "http");
  EXPECT_EQ(find_header(h, "X-Forwarded-Host"), "shop.example");
  EXPECT_FALSE(find_header(h, "Forwarded"));
  EXPECT_EQ(find_header(h, "Via"), "1.1 edge, 1.1 corral");
}

TEST_F(proxy_test, trusted_forwarding_fields_are_kept_and_extended) {
  test_backend a;
  balancer.set_ports({a.port()});
  auto settings = test_settings();
  settings.trust_forwarded = true;
  start(settings);
  auto req = get();
  req.headers = {{"X-Forwarded-For", "203.0.113.9"},
                 {"X-Forwarded-Proto", "https"},
                 {"Forwarded", "for=203.0.113.9"}};
  ASSERT_TRUE(fetch(port(), req).ok);
  auto seen = a.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(find_header(seen[0].headers, "X-Forwarded-For"), "203.0.113.9, 127.0.0.1");
  EXPECT_EQ(find_header(seen[0].headers, "X-Forwarded-Proto"), "https");
  EXPECT_EQ(find_header(seen[0].headers, "Forwarded"), "for=203.0.113.9");
}

// -- HTTP/1.0 clients ------------------------------------------------------------------

TEST_F(proxy_test, http_1_0_client_gets_a_1_0_answer_and_a_close) {
  test_backend a;
  balancer.set_ports({a.port()});
  start();
  test_client client{port()};
  auto req = get();
  req.version = 10;
  auto res = client.send(req);
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.version, 10u);
  EXPECT_FALSE(res.keep_alive);
  EXPECT_TRUE(client.closed_by_peer());
  // The backend still spoke HTTP/1.1 with keep-alive.
  EXPECT_EQ(a.seen().front().version, 11u);
}

TEST_F(proxy_test, http_1_0_keep_alive_client_keeps_its_connection) {
  test_backend a;
  balancer.set_ports({a.port()});
  start();
  test_client client{port()};
  auto req = get();
  req.version = 10;
  req.headers = {{"Connection", "keep-alive"}};
  for (int i = 0; i < 3; ++i) {
    auto res = client.send(req);
    ASSERT_TRUE(res.ok) << res.error;
    EXPECT_EQ(res.version, 10u);
    EXPECT_TRUE(res.keep_alive);
  }
}

TEST_F(proxy_test, http_1_0_client_gets_a_chunked_answer_delimited_by_close) {
  test_backend a;
  a.set_handler([](const seen_request&) {
    backend_reply r;
    r.body = "streamed";
    r.chunked = true;
    return r;
  });
  balancer.set_ports({a.port()});
  start();
  test_client client{port()};
  auto req = get();
  req.version = 10;
  req.headers = {{"Connection", "keep-alive"}};
  auto res = client.send(req);
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.body, "streamed");
  EXPECT_EQ(res.header("Transfer-Encoding"), std::nullopt);
  EXPECT_FALSE(res.keep_alive);
}

// -- failures --------------------------------------------------------------------------

TEST_F(proxy_test, no_ready_backend_gives_503_and_keeps_the_connection) {
  start();
  test_client client{port()};
  for (int i = 0; i < 2; ++i) {
    auto res = client.send(get());
    ASSERT_TRUE(res.ok) << res.error;
    EXPECT_EQ(res.status, 503u);
    EXPECT_TRUE(res.keep_alive);
  }
  server->shutdown();
  EXPECT_EQ(server->stats().no_backend, 2u);
  EXPECT_EQ(server->stats().responses_by_class[4], 2u);
}

TEST_F(proxy_test, refused_get_is_retried_on_the_next_port) {
  test_backend good;
  refusing_port refusing;
  auto dead = refusing.port();
  balancer.set_ports({dead, good.port()});
  start();
  auto res = fetch(port(), get());
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.header("X-Backend-Port"), std::to_string(good.port()));
  EXPECT_EQ(balancer.failed(dead), 1u);
  EXPECT_EQ(balancer.finished(good.port()), 1u);
  EXPECT_EQ(balancer.fresh_asks(), 1u);
  EXPECT_EQ(balancer.retry_asks(), 1u);
  EXPECT_EQ(server->stats().retries, 1u);
  // The request was rewritten once, not once per attempt.
  EXPECT_EQ(find_header(good.seen().front().headers, "X-Forwarded-For"),
            "127.0.0.1");
}

TEST_F(proxy_test, refused_post_is_retried_since_it_was_never_sent) {
  test_backend good;
  refusing_port refusing;
  auto dead = refusing.port();
  balancer.set_ports({dead, good.port()});
  start();
  auto res = fetch(port(), post("payload"));
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.body, "payload");
  EXPECT_EQ(balancer.failed(dead), 1u);
  EXPECT_EQ(good.requests(), 1u);
}

TEST_F(proxy_test, retries_are_bounded_then_502) {
  refusing_port p1, p2, p3, p4;
  balancer.set_ports({p1.port(), p2.port(), p3.port(), p4.port()});
  start();
  auto res = fetch(port(), get());
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 502u);
  // One attempt plus retries = 2.
  EXPECT_EQ(balancer.fresh_asks(), 1u);
  EXPECT_EQ(balancer.retry_asks(), 2u);
  EXPECT_EQ(server->stats().bad_gateway, 1u);
}

TEST_F(proxy_test, post_on_a_pooled_connection_to_a_killed_backend) {
  // A is killed while the proxy pools a connection to it. The liveness
  // check drops that connection, the reconnect is refused (never sent), so
  // the POST moves on to B per the retry rule.
  auto a = std::make_unique<test_backend>();
  test_backend b;
  auto a_port = a->port();
  balancer.set_ports({a_port, b.port()});
  start();
  test_client client{port()};
  ASSERT_EQ(client.send(post("one")).status, 200u);
  ASSERT_EQ(client.send(post("two")).status, 200u);
  a->kill();
  auto res = client.send(post("three"));
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.header("X-Backend-Port"), std::to_string(b.port()));
  EXPECT_EQ(res.body, "three");
  EXPECT_EQ(balancer.failed(a_port), 1u);
  EXPECT_EQ(a->requests(), 1u);
  EXPECT_EQ(b.requests(), 2u);
}

TEST_F(proxy_test, killed_backend_with_pooled_connections_is_not_reused) {
  // A replacement container takes over the same port: a request that may not
  // be retried (POST) must go over a fresh connection, not the pooled one to
  // the dead container, which a peek at checkout finds dead.
  auto scene = replace_a_pooled_backend();
  auto res = scene.client->send(post("payload"));
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(scene.replacement->requests(), 1u);
  // Not even one failed attempt: the dead connection was never written to.
  EXPECT_EQ(balancer.failed(scene.port), 0u);
  EXPECT_EQ(server->stats().retries, 0u);
}

TEST_F(proxy_test, a_get_on_a_dead_pooled_connection_is_retried_without_blame) {
  // Idempotent requests skip the peek: a dead reused connection costs one
  // retry on a fresh connection, never an error and never the port's blame.
  auto scene = replace_a_pooled_backend();
  for (int i = 0; i < 3; ++i) {
    auto res = scene.client->send(get());
    ASSERT_TRUE(res.ok) << res.error;
    EXPECT_EQ(res.status, 200u);
  }
  EXPECT_EQ(scene.replacement->requests(), 3u);
  EXPECT_EQ(balancer.failed(scene.port), 0u);
  // The port's other idle connections went with the first dead one.
  EXPECT_LE(server->stats().retries, 1u);
}

TEST_F(proxy_test, reset_after_request_retries_a_get) {
  test_backend crashing, good;
  crashing.set_mode(backend_mode::reset_after_request);
  balancer.set_ports({crashing.port(), good.port()});
  start();
  auto res = fetch(port(), get());
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.header("X-Backend-Port"), std::to_string(good.port()));
  EXPECT_EQ(crashing.requests(), 1u);
  EXPECT_EQ(balancer.failed(crashing.port()), 1u);
}

TEST_F(proxy_test, reset_after_request_fails_a_post_with_502) {
  test_backend crashing, good;
  crashing.set_mode(backend_mode::reset_after_request);
  balancer.set_ports({crashing.port(), good.port()});
  start();
  auto res = fetch(port(), post("not twice"));
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 502u);
  // The backend may have acted on it: it must not run a second time.
  EXPECT_EQ(crashing.requests(), 1u);
  EXPECT_EQ(good.requests(), 0u);
  EXPECT_EQ(balancer.failed(crashing.port()), 1u);
  EXPECT_EQ(balancer.retry_asks(), 0u);
}

TEST_F(proxy_test, a_pooled_connection_reset_retries_without_ejecting_the_port) {
  // Over a pooled connection a reset may just be a keep-alive race: the GET
  // moves on, but the port is reported finished, not failed.
  test_backend a, b;
  balancer.set_ports({a.port(), b.port()});
  start();
  test_client client{port()};
  ASSERT_EQ(client.send(get()).status, 200u); // a, now pooled
  ASSERT_EQ(client.send(get()).status, 200u); // b
  a.set_mode(backend_mode::reset_after_request);
  auto res = client.send(get());
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.header("X-Backend-Port"), std::to_string(b.port()));
  EXPECT_EQ(a.connections(), 1u);
  EXPECT_EQ(balancer.failed(a.port()), 0u);
  EXPECT_EQ(balancer.finished(a.port()), 2u);
  EXPECT_EQ(balancer.retry_asks(), 1u);
}

TEST_F(proxy_test, close_without_answer_retries_a_get) {
  test_backend closing, good;
  closing.set_mode(backend_mode::close_after_request);
  balancer.set_ports({closing.port(), good.port()});
  start();
  auto res = fetch(port(), get());
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(balancer.failed(closing.port()), 1u);
}

TEST_F(proxy_test, hung_backend_gives_504_within_backend_timeout) {
  test_backend hung, good;
  hung.set_mode(backend_mode::hang);
  balancer.set_ports({hung.port(), good.port()});
  auto settings = test_settings();
  settings.backend_timeout = std::chrono::milliseconds(200);
  start(settings);
  test_client client{port()};
  auto res = client.send(get(), 3s);
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 504u);
  // Not retried, and the backend is not thrown out of the rotation for
  // one slow answer: it counts as bad (passive checks take a backend out
  // only after passive_failures of those in a row) and the health checker
  // judges the rest.
  EXPECT_EQ(good.requests(), 0u);
  EXPECT_EQ(balancer.bad(hung.port()), 1u);
  EXPECT_EQ(balancer.failed(hung.port()), 0u);
  EXPECT_EQ(server->stats().gateway_timeout, 1u);
  // The client connection survives a 504.
  auto next = client.send(get());
  ASSERT_TRUE(next.ok) << next.error;
  EXPECT_EQ(next.status, 200u);
}

// -- start and stop ----------------------------------------------------------------------

TEST_F(proxy_test, bind_failure_names_the_address_and_the_reason) {
  start();
  auto settings = test_settings();
  settings.listen.port = port();
  proxy_server second{settings, balancer.factory()};
  try {
    second.start();
    ADD_FAILURE() << "second bind succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot listen on 127.0.0.1:"
                                       + std::to_string(port())
                                       + ": address already in use");
  }
}

TEST_F(proxy_test, each_io_thread_listens_on_a_socket_of_its_own) {
  test_backend a;
  balancer.set_ports({a.port()});
  auto settings = test_settings();
  settings.threads = 3;
  start(settings);
  auto fds = server->listen_fds();
  ASSERT_EQ(fds.size(), 3u);
  for (int fd : fds) {
    int on = 0;
    socklen_t size = sizeof(on);
    ASSERT_EQ(::getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, &size), 0);
    EXPECT_EQ(on, 1) << "a socket outside the group";
  }
  // The kernel picks a socket of the group by each connection's addresses:
  // whichever thread's socket it picked, every connection is served.
  EXPECT_EQ(get_concurrently(port(), 30, 2), 60u);
  EXPECT_EQ(server->stats().connections_accepted, 30u);
}

TEST_F(proxy_test, a_successor_takes_the_sockets_over_grows_the_group_and_serves) {
  // What an upgrade does (app/takeover.cpp hands the descriptors over; here
  // they are duplicated): the successor takes the whole group, adds sockets
  // for its extra threads, and serves once the predecessor has stopped.
  test_backend a;
  balancer.set_ports({a.port()});
  auto settings = test_settings();
  settings.threads = 2;
  start(settings);
  std::vector<int> handed;
  for (int fd : server->listen_fds())
    handed.push_back(::dup(fd));
  auto successor_settings = settings;
  successor_settings.listen.port = port();
  successor_settings.threads = 3;
  proxy_server successor{successor_settings, balancer.factory()};
  successor.start(handed);
  EXPECT_EQ(successor.port(), port());
  EXPECT_EQ(successor.listen_fds().size(), 3u);
  // Closed for good, the sockets would drop every new connection: they
  // are the successor's now.
  server->shutdown(proxy_server::listen_sockets::handed_over);
  EXPECT_EQ(get_concurrently(port(), 10, 3), 30u);
  EXPECT_EQ(successor.stats().connections_accepted, 10u);
  successor.shutdown();
}

TEST_F(proxy_test, shutdown_lets_an_in_flight_request_finish_and_refuses_new_ones) {
  test_backend slow;
  slow.set_mode(backend_mode::gate);
  balancer.set_ports({slow.port()});
  start();
  auto proxy_port = port();
  test_backend fast;
  test_client busy{proxy_port};
  // Idle between two requests: it has had one answer (a fresh connection
  // is not idle; see the next test).
  balancer.set_ports({fast.port()});
  test_client idle{proxy_port};
  ASSERT_EQ(idle.send(get()).status, 200u);
  balancer.set_ports({slow.port()});
  std::optional<client_response> answer;
  std::thread request([&] { answer = busy.send(get(), 10s); });
  ASSERT_TRUE(slow.wait_for_requests(1));
  std::thread stopper([&] { server->shutdown(); });
  // The idle keep-alive client is let go at once.
  EXPECT_TRUE(idle.closed_by_peer());
  // New connections are refused while the request is still in flight.
  EXPECT_TRUE(eventually([&] { return connection_refused(proxy_port); }));
  slow.release();
  request.join();
  stopper.join();
  ASSERT_TRUE(answer && answer->ok) << (answer ? answer->error : "none");
  EXPECT_EQ(answer->status, 200u);
  EXPECT_FALSE(answer->keep_alive);
  EXPECT_TRUE(busy.closed_by_peer());
}

// A client that has just connected has nothing to send its request again
// on: its connection is not idle, and its request, sent as the stop began,
// is served.
TEST_F(proxy_test, shutdown_serves_the_first_request_of_a_connection_accepted_before_it) {
  test_backend a;
  balancer.set_ports({a.port()});
  auto settings = test_settings();
  settings.threads = 1;
  start(settings);
  test_client idle{port()};
  ASSERT_EQ(idle.send(get()).status, 200u);
  test_client fresh{port()};
  ASSERT_TRUE(fresh.connected());
  eventually([&] { return server->stats().connections_accepted >= 2; });
  ASSERT_EQ(server->stats().connections_accepted, 2u);
  std::thread stopper([&] { server->shutdown(); });
  // The io thread has begun its shutdown (both sessions live on it).
  EXPECT_TRUE(idle.closed_by_peer());
  auto answer = fresh.send(get());
  stopper.join();
  ASSERT_TRUE(answer.ok) << answer.error;
  EXPECT_EQ(answer.status, 200u);
  EXPECT_FALSE(answer.keep_alive);
  EXPECT_EQ(a.requests(), 2u);
}

// Closing a listening socket resets the connections still in its queue,
// though their clients saw them established and sent their requests. The
// stop takes them in and serves them first.
TEST_F(proxy_test, shutdown_serves_connections_still_queued_on_the_listening_socket) {
  test_backend a;
  balancer.set_ports({a.port()});
  auto settings = test_settings();
  settings.threads = 1;
  settings.max_connections = 1;
  start(settings);
  test_client holder{port()};
  ASSERT_EQ(holder.send(get()).status, 200u);
  // At the bound the listener accepts nothing: the kernel queues these.
  std::vector<std::unique_ptr<test_client>> queued;
  for (int i = 0; i < 3; ++i) {
    queued.push_back(std::make_unique<test_client>(port()));
    ASSERT_TRUE(queued.back()->connected());
    ASSERT_TRUE(queued.back()->write_raw("GET /q HTTP/1.1\r\nHost: x\r\n\r\n"));
  }
  EXPECT_EQ(server->stats().connections_accepted, 1u);
  server->shutdown();
  for (auto& client : queued) {
    auto answer = client->read_response();
    ASSERT_TRUE(answer.ok) << answer.error;
    EXPECT_EQ(answer.status, 200u);
    EXPECT_FALSE(answer.keep_alive);
  }
  EXPECT_EQ(server->stats().connections_accepted, 4u);
  EXPECT_EQ(a.requests(), 4u);
}

TEST_F(proxy_test, shutdown_timeout_closes_requests_that_do_not_finish) {
  test_backend hung;
  hung.set_mode(backend_mode::hang);
  balancer.set_ports({hung.port()});
  auto settings = test_settings();
  settings.shutdown_timeout = std::chrono::milliseconds(200);
  start(settings);
  test_client client{port()};
  std::optional<client_response> answer;
  std::thread request([&] { answer = client.send(get(), 10s); });
  ASSERT_TRUE(hung.wait_for_requests(1));
  server->shutdown();
  request.join();
  ASSERT_TRUE(answer);
  EXPECT_FALSE(answer->ok);
  EXPECT_EQ(balancer.finished(hung.port()), 1u);
}

} // namespace
} // namespace corral::test
