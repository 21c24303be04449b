// Hostile clients and sick backends against the real daemon (issue 11): a
// connection flood, slowloris, slow uploads past the memory budget, a
// container that answers 500, and every container answering 500. None of
// them may cost a healthy container.
#include "tests/support/docker_env.hpp"
#include "tests/support/harness.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>

using namespace corral::test;

namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

/// Many idle or misbehaving connections from this process.
class connection_swarm {
public:
  /// Opens up to `count` connections to 127.0.0.1:`port`; the kernel's
  /// backlog takes them whether or not corral accepts.
  connection_swarm(uint16_t port, size_t count) {
    for (size_t i = 0; i < count; ++i) {
      auto s = std::make_unique<tcp::socket>(io_);
      boost::system::error_code ec;
      s->connect({net::ip::address_v4::loopback(), port}, ec);
      if (ec)
        break;
      sockets_.push_back(std::move(s));
    }
  }

  size_t size() const {
    return sockets_.size();
  }

  /// Writes `bytes` on every connection still open; returns how many took it.
  size_t write_all(std::string_view bytes) {
    size_t ok = 0;
    for (auto& s : sockets_) {
      if (!s->is_open())
        continue;
      boost::system::error_code ec;
      s->non_blocking(true, ec);
      auto n = s->write_some(net::buffer(bytes), ec);
      if (!ec && n == bytes.size())
        ++ok;
    }
    return ok;
  }

  /// How many the server has closed (a read sees EOF or a reset).
  size_t closed_by_server() {
    size_t closed = 0;
    for (auto& s : sockets_) {
      boost::system::error_code ec;
      s->non_blocking(true, ec);
      char buf[512];
      for (;;) {
        auto n = s->read_some(net::buffer(buf), ec);
        if (ec == net::error::would_block)
          break;
        if (ec || n == 0) {
          ++closed;
          break;
        }
      }
    }
    return closed;
  }

  void close_all() {
    sockets_.clear();
  }

private:
  net::io_context io_;
  std::vector<std::unique_ptr<tcp::socket>> sockets_;
};

/// Sum of restarts over every slot.
uint32_t restarts(corral_process& corral) {
  uint32_t n = 0;
  for (auto& s : corral.slots())
    n += s.restarts;
  return n;
}

std::vector<uint16_t> three_from(uint16_t p) {
  return {p, uint16_t(p + 1), uint16_t(p + 2)};
}

} // namespace

TEST(hostile, a_connection_flood_stops_at_max_connections_and_costs_no_container) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(30380);
  auto pool = unique_name("flood");
  corral_process corral{pool, test_config(pool, ports, "min_containers = 3\n"), ports};
  // A host with a low limit: corral derives max_connections from it and
  // keeps descriptors in reserve for probes, backends and Docker.
  corral.limit_open_files(1024);
  ASSERT_TRUE(corral.start()) << corral.log();
  auto three = three_from(ports.pool_start);
  ASSERT_TRUE(corral.wait_pool(three, 20s)) << corral.log();
  auto max = metric_value(corral.metrics(), "corral_proxy_max_connections");
  ASSERT_TRUE(max) << corral.metrics();
  ASSERT_EQ(*max, (1024 - 256) / 2);

  // A client connected before the flood keeps its connection.
  http_client regular;
  ASSERT_EQ(regular.get(ports.proxy_url("/api/v1/categories")).status, 204);
  connection_swarm flood{ports.proxy, 800};
  ASSERT_GE(flood.size(), 600u);
  ASSERT_TRUE(wait_until(10s, [&] {
    return metric_value(corral.metrics(), "corral_proxy_connections_open") == *max;
  })) << "corral did not stop at max_connections\n" << corral.metrics();
  // Meanwhile: the regular client is served, probes pass, nothing restarts.
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(regular.get(ports.proxy_url("/api/v1/categories")).status, 204) << i;
    std::this_thread::sleep_for(50ms); // over a second: the probes run meanwhile
  }
  EXPECT_EQ(corral.ready_ports(), three);
  EXPECT_EQ(restarts(corral), 0u);
  auto metrics = corral.metrics();
  EXPECT_EQ(metric_sum(metrics, "corral_probes_total", {"result=\"local_error\""}), 0);
  EXPECT_EQ(metric_value(metrics, "corral_container_events_total{event=\"killed\"}"), 0);

  // The flood goes; a new client is served again within a second.
  flood.close_all();
  auto gone = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_until(5s, [&] {
    return http("GET", ports.proxy_url("/api/v1/categories"), {}, {}, 1s).status == 204;
  }));
  EXPECT_LT(std::chrono::steady_clock::now() - gone, 1s);
  EXPECT_EQ(restarts(corral), 0u);
  EXPECT_EQ(corral.stop(), 0);
}

TEST(hostile, slowloris_connections_are_closed_after_header_timeout_and_a_normal_client_is_served) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(30400);
  auto pool = unique_name("slowloris");
  auto toml = test_config(pool, ports, "min_containers = 2\n");
  toml.insert(toml.find("[admin]"), "header_timeout = \"2s\"\n"); // into [proxy]
  corral_process corral{pool, toml, ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  ASSERT_TRUE(corral.wait_pool({ports.pool_start, uint16_t(ports.pool_start + 1)}, 20s))
    << corral.log();
  load_generator normal{ports.proxy_url("/api/v1/categories"), 1, 20ms};
  connection_swarm loris{ports.proxy, 1000};
  ASSERT_EQ(loris.size(), 1000u);
  loris.write_all("GET / HTTP/1.1\r\n");
  // One header byte per second per connection.
  std::atomic<bool> stop{false};
  std::thread trickle{[&] {
    while (!stop) {
      std::this_thread::sleep_for(1s);
      if (!stop)
        loris.write_all("X");
    }
  }};
  // Closed after header_timeout (2 s), give or take the trickle's rhythm.
  bool closed = wait_until(8s, [&] { return loris.closed_by_server() == 1000; }, 200ms);
  stop = true;
  trickle.join();
  auto seen = normal.stop();
  EXPECT_TRUE(closed) << "slow heads still open after header_timeout";
  EXPECT_EQ(seen.failed(), 0u) << seen.summary();
  EXPECT_GT(seen.ok, 50u);
  EXPECT_GE(metric_value(corral.metrics(), "corral_proxy_client_timeouts_total").value_or(0),
            1000);
  EXPECT_EQ(restarts(corral), 0u);
  EXPECT_EQ(corral.stop(), 0);
}

TEST(hostile, slow_uploads_past_the_memory_budget_get_503_and_memory_stays_bounded) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(30420);
  auto pool = unique_name("membudget");
  auto toml = test_config(pool, ports);
  toml.insert(toml.find("[admin]"), "max_body = \"1MiB\"\nmax_buffered = \"16MiB\"\n");
  corral_process corral{pool, toml, ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  ASSERT_TRUE(corral.wait_pool({ports.pool_start}, 20s)) << corral.log();
  auto rss = [&] {
    return metric_value(corral.metrics(), "process_resident_memory_bytes").value_or(0);
  };
  auto before = rss();
  ASSERT_GT(before, 0);
  auto container = corral.container_on(ports.pool_start);

  // 200 clients announce a 1 MiB body each and send 64 KiB of it, slowly.
  connection_swarm uploads{ports.proxy, 200};
  ASSERT_EQ(uploads.size(), 200u);
  uploads.write_all("POST /api/v1/acts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    "Content-Length: 1048576\r\n\r\n");
  std::string piece(64 * 1024, 'a');
  uploads.write_all(piece);
  ASSERT_TRUE(wait_until(10s, [&] {
    auto m = corral.metrics();
    return metric_value(m, "corral_proxy_errors_total{kind=\"busy\"}").value_or(0) >= 184;
  })) << corral.metrics();
  auto m = corral.metrics();
  // 16 bodies fit the budget; the other 184 were refused at once.
  EXPECT_EQ(metric_value(m, "corral_proxy_buffered_bytes"), 16 * 1048576.0);
  EXPECT_EQ(metric_value(m, "corral_proxy_errors_total{kind=\"busy\"}"), 184);
  auto during = rss();
  // The budget, plus a constant for 200 connections' buffers and the rest.
  EXPECT_LT(during - before, 16.0 * 1048576 + 24.0 * 1048576)
    << "grew by " << (during - before) / 1048576 << " MiB";
  uploads.close_all();
  EXPECT_EQ(corral.container_on(ports.pool_start), container);
  EXPECT_EQ(restarts(corral), 0u);
  EXPECT_EQ(corral.stop(), 0);
}

namespace {

/// Three containers under a GET load; one of them starts answering 500 to
/// everything. Returns the load's result.
load_result crash_one_under_load(corral_process& corral, const test_ports& ports,
                                 uint16_t victim_port) {
  load_generator load{ports.proxy_url("/api/v1/categories"), 2, 5ms};
  EXPECT_TRUE(wait_until(5s, [&] { return load.answered() > 30; }));
  auto victim = corral.container_on(victim_port);
  EXPECT_EQ(http("POST", ports.container_url(victim_port, "/api/v1/_crash")).status, 200);
  // Replaced: its probes fail (its health answers 500 too).
  EXPECT_TRUE(wait_until(20s, [&] {
    auto now = corral.container_on(victim_port);
    return !now.empty() && now != victim && corral.ready_ports().size() == 3;
  })) << corral.log();
  auto answered = load.answered();
  EXPECT_TRUE(wait_until(5s, [&] { return load.answered() > answered + 30; }));
  return load.stop();
}

} // namespace

TEST(hostile, a_container_that_answers_500_costs_at_most_passive_failures_requests) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(30440);
  auto pool = unique_name("crash500");
  // A long probe interval: only the passive check can notice in time.
  corral_process corral{pool, test_config(pool, ports, "min_containers = 3\n",
                                          "[health]\ninterval = \"30s\"\npassive_failures = 3\n"),
                        ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  ASSERT_TRUE(corral.wait_pool(three_from(ports.pool_start), 20s)) << corral.log();
  auto seen = crash_one_under_load(corral, ports, uint16_t(ports.pool_start + 1));
  EXPECT_LE(seen.failed(), 3u) << seen.summary();
  auto status = corral.status();
  EXPECT_GE(status.at("balancer").at("ejections").to_number<int64_t>(), 1) << status;
  EXPECT_EQ(corral.stop(), 0);
}

TEST(hostile, with_retry_on_5xx_a_container_that_answers_500_costs_no_request) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(30480);
  auto pool = unique_name("crash500r");
  auto toml = test_config(pool, ports, "min_containers = 3\n",
                          "[health]\ninterval = \"30s\"\npassive_failures = 3\n");
  toml.insert(toml.find("[admin]"), "retry_on = \"5xx\"\n");
  corral_process corral{pool, toml, ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  ASSERT_TRUE(corral.wait_pool(three_from(ports.pool_start), 20s)) << corral.log();
  auto seen = crash_one_under_load(corral, ports, uint16_t(ports.pool_start + 2));
  EXPECT_EQ(seen.failed(), 0u) << seen.summary();
  EXPECT_EQ(corral.stop(), 0);
}

TEST(hostile, when_every_container_answers_500_corral_keeps_forwarding_and_kills_only_what_probes_fail) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(30520);
  auto pool = unique_name("allbad");
  corral_process corral{pool, test_config(pool, ports, "min_containers = 3\n",
                                          "[health]\ninterval = \"30s\"\npassive_failures = 2\n"),
                        ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  auto three = three_from(ports.pool_start);
  ASSERT_TRUE(corral.wait_pool(three, 20s)) << corral.log();
  for (auto p : three)
    ASSERT_EQ(http("POST", ports.container_url(p, "/api/v1/_crash")).status, 200);
  // 30 requests: every one is forwarded and answered by a container (500),
  // none is refused with corral's own 503 for want of a backend.
  http_client client;
  int backend_answers = 0;
  for (int i = 0; i < 30; ++i) {
    auto answer = client.get(ports.proxy_url("/api/v1/categories"));
    backend_answers += answer.status == 500 ? 1 : 0;
  }
  EXPECT_GE(backend_answers, 25);
  auto status = corral.status();
  auto& balancer = status.at("balancer");
  // Passive signals never took more than half of the ready ones out at a
  // time (the cap refused the rest), so corral never ran out of backends.
  EXPECT_GE(balancer.at("ejections_capped").to_number<int64_t>(), 1) << status;
  EXPECT_EQ(balancer.at("no_backend").to_number<int64_t>(), 0);
  // An ejected container is probed at once; only a failed probe (its health
  // answers 500 too) kills it: every kill is the probe's own verdict.
  auto events = boost::json::parse(http("GET", ports.admin_url("/events")).body);
  for (auto& e : events.at("events").as_array()) {
    if (e.at("event").as_string() == "killed") {
      EXPECT_EQ(std::string{e.at("detail").as_string()}.rfind("health check failed", 0), 0u) << e;
    }
  }
  EXPECT_EQ(corral.stop(), 0);
}
