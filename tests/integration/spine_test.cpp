// The spine against the real daemon: the pool comes up on consecutive ports,
// round robin is exact, shutdown leaves nothing, and every kind of unusable
// setup stops corral with one line and no container.
#include "tests/support/docker_env.hpp"
#include "tests/support/harness.hpp"

#include <gtest/gtest.h>

#include <future>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace corral::test;

namespace {

/// The lines corral wrote; a setup error must be exactly one.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos)
      end = text.size();
    if (end > start)
      lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::vector<std::string> names(const std::string& pool, std::vector<uint16_t> ports) {
  std::vector<std::string> result;
  for (auto port : ports)
    result.push_back(pool + "-" + std::to_string(port));
  return result;
}

} // namespace

TEST(spine, three_containers_share_300_requests_exactly_evenly) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(20000);
  auto pool = unique_name("spine-rr");
  corral_process corral{pool, test_config(pool, ports, "min_containers = 3\n"), ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  uint16_t p = ports.pool_start;
  ASSERT_TRUE(corral.wait_pool({p, uint16_t(p + 1), uint16_t(p + 2)}, 20s)) << corral.log();
  EXPECT_EQ(running_names(pool), names(pool, {p, uint16_t(p + 1), uint16_t(p + 2)}));

  http_client client; // one keep-alive client connection
  for (int i = 0; i < 300; ++i) {
    auto answer = client.get(ports.proxy_url("/api/v1/categories"));
    ASSERT_EQ(answer.status, 204) << i << ": " << answer.error << answer.body;
  }
  for (uint16_t port = p; port < p + 3; ++port) {
    auto count = http("GET", ports.container_url(port, "/api/v1/_count"));
    EXPECT_EQ(json_count(count.body), 100) << port << ": " << count.body;
  }

  EXPECT_EQ(corral.stop(), 0) << corral.log();
  EXPECT_TRUE(pool_containers(pool).empty());
}

TEST(spine, admin_endpoint_reports_status_and_metrics) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(20020);
  auto pool = unique_name("spine-admin");
  corral_process corral{pool, test_config(pool, ports), ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  ASSERT_TRUE(corral.wait_pool({ports.pool_start}, 20s)) << corral.log();
  ASSERT_EQ(http("GET", ports.proxy_url("/api/v1/categories")).status, 204);
  auto status = corral.status();
  ASSERT_TRUE(status.is_object());
  EXPECT_EQ(status.at("pool").at("name").as_string(), pool);
  EXPECT_EQ(status.at("proxy").at("requests").to_number<int64_t>(), 1);
  auto metrics = http("GET", ports.admin_url("/metrics"));
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("corral_proxy_requests_total 1"), std::string::npos)
    << metrics.body;
  EXPECT_EQ(http("GET", ports.admin_url("/nope")).status, 404);
  EXPECT_EQ(corral.stop(), 0);
}

TEST(spine, sigterm_lets_a_request_in_flight_finish_then_removes_the_pool) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(20040);
  auto pool = unique_name("spine-term");
  // http-hello answers /slow after 8 s (from a child, so probes and other
  // requests are answered meanwhile): a request surely in flight at SIGTERM.
  auto toml = test_config(pool, ports, "min_containers = 2\nenv = { SLOW_MS = \"8000\" }\n",
                          "[health]\npath = \"/\"\n");
  toml.replace(toml.find("acts:latest"), 11, "corral-test-http-hello:latest");
  corral_process corral{pool, toml, ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  ASSERT_TRUE(corral.wait_pool({ports.pool_start, uint16_t(ports.pool_start + 1)}, 20s))
    << corral.log();

  using clock = std::chrono::steady_clock;
  auto slow = std::async(std::launch::async, [&] {
    auto answer = http("GET", ports.proxy_url("/slow"), {}, {}, 30s);
    return std::make_pair(answer, clock::now());
  });
  // In flight: corral has handed it a backend (nothing else is sent yet).
  auto in_flight = [&] {
    auto status = corral.status();
    if (!status.is_object())
      return int64_t{0};
    int64_t sum = 0;
    for (auto& b : status.at("balancer").at("backends").as_array())
      sum += b.at("in_flight").to_number<int64_t>();
    return sum;
  };
  ASSERT_TRUE(wait_until(5s, [&] { return in_flight() == 1; })) << corral.log();
  // A client keeps asking while corral is told to stop.
  load_generator load{ports.proxy_url("/"), 2, 0ms};
  ASSERT_TRUE(wait_until(5s, [&] { return load.answered() > 50; }));
  ASSERT_NE(slow.wait_for(0s), std::future_status::ready) << "the slow request ended early";
  auto signalled = clock::now();
  EXPECT_EQ(corral.stop(), 0) << corral.log();
  auto [answer, answered_at] = slow.get();
  auto seen = load.stop();

  // The slow request was accepted before SIGTERM and got its whole answer
  // after it: cut off, it would have no status.
  EXPECT_EQ(answer.status, 200) << answer.error;
  EXPECT_EQ(answer.body, "http-hello\n");
  EXPECT_GT(answered_at, signalled);
  // Every request of the load got a real answer, or (once the listener
  // closed) was refused at connect; cut off or 5xx counts as a failure.
  for (auto& [kind, count] : seen.failures)
    EXPECT_EQ(kind.rfind("no response: Couldn't connect", 0), 0u) << seen.summary();
  EXPECT_TRUE(pool_containers(pool).empty());
}

TEST(spine, on_exit_keep_leaves_the_containers_running) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(20060);
  auto pool = unique_name("spine-keep");
  corral_process corral{pool, test_config(pool, ports, "on_exit = \"keep\"\n"), ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  ASSERT_TRUE(corral.wait_pool({ports.pool_start}, 20s));
  EXPECT_EQ(corral.stop(), 0);
  EXPECT_EQ(running_names(pool), names(pool, {ports.pool_start}));
  // The harness removes them; a fresh corral would too (next test).
}

// An earlier run's containers: the one that can serve is adopted, not
// replaced; an exited one and one beyond the size it wants are removed.
TEST(spine, containers_an_earlier_run_left_are_adopted_or_removed_at_start) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(20080);
  auto pool = unique_name("spine-left");
  uint16_t p = ports.pool_start;
  corral_process first{pool, test_config(pool, ports, "min_containers = 3\non_exit = \"keep\"\n"),
                       ports};
  ASSERT_TRUE(first.start()) << first.log();
  ASSERT_TRUE(first.wait_pool({p, uint16_t(p + 1), uint16_t(p + 2)}, 20s)) << first.log();
  auto first_id = first.container_on(p);
  auto exited_id = first.container_on(static_cast<uint16_t>(p + 1));
  ASSERT_EQ(first.stop(), 0);
  ASSERT_EQ(running_names(pool).size(), 3u);
  ASSERT_TRUE(docker_kill(exited_id));
  ASSERT_TRUE(wait_until(10s, [&] { return running_names(pool).size() == 2; }));

  // Wants 2: p is adopted, p + 1 (exited) replaced, p + 2 (beyond 2) removed.
  corral_process second{pool, test_config(pool, ports, "min_containers = 2\n"), ports,
                        {}, "second"};
  ASSERT_TRUE(second.start()) << second.log();
  ASSERT_TRUE(second.wait_pool({p, uint16_t(p + 1)}, 20s)) << second.log();
  EXPECT_EQ(second.container_on(p), first_id);
  EXPECT_NE(second.container_on(static_cast<uint16_t>(p + 1)), exited_id);
  auto log = second.log();
  EXPECT_NE(log.find("removing a container an earlier run left"), std::string::npos) << log;
  EXPECT_NE(log.find("not running (exited)"), std::string::npos) << log;
  EXPECT_NE(log.find("beyond the pool"), std::string::npos) << log;
  EXPECT_EQ(pool_containers(pool).size(), 2u);
  EXPECT_EQ(second.stop(), 0);
  EXPECT_TRUE(pool_containers(pool).empty());
}

// -- unusable setups: one line on stderr, a defined status, nothing created --

TEST(spine, bad_config_exits_2_with_one_line_naming_file_line_column_and_key) {
  auto ports = test_ports::from_base(20100);
  auto pool = unique_name("spine-bad");
  corral_process corral{pool, test_config(pool, ports, "min_containers = \"three\"\n"), ports};
  EXPECT_FALSE(corral.start(5s));
  EXPECT_EQ(corral.wait_exit(5s), 2);
  auto lines = lines_of(corral.log());
  ASSERT_EQ(lines.size(), 1u) << corral.log();
  EXPECT_NE(lines[0].find(".toml:11:18: [pool] min_containers: expected an integer"),
            std::string::npos)
    << lines[0];
  EXPECT_TRUE(pool_containers(pool).empty());
}

TEST(spine, unreachable_daemon_exits_1_with_one_line) {
  auto ports = test_ports::from_base(20120);
  auto pool = unique_name("spine-nodaemon");
  auto toml = test_config(pool, ports);
  toml.replace(toml.find("socket = \""), std::string{"socket = \""}.size(),
               "socket = \"/nonexistent/docker.sock\" # ");
  corral_process corral{pool, toml, ports};
  EXPECT_FALSE(corral.start(5s));
  EXPECT_EQ(corral.wait_exit(5s), 1);
  auto lines = lines_of(corral.log());
  ASSERT_EQ(lines.size(), 1u) << corral.log();
  EXPECT_NE(lines[0].find("cannot reach the Docker daemon at /nonexistent/docker.sock"),
            std::string::npos)
    << lines[0];
}

TEST(spine, missing_image_exits_1_with_one_line_and_no_container) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(20140);
  auto pool = unique_name("spine-noimage");
  auto toml = test_config(pool, ports);
  toml.replace(toml.find("acts:latest"), 11, "corral-no-such-image:latest");
  corral_process corral{pool, toml, ports};
  EXPECT_FALSE(corral.start(5s));
  EXPECT_EQ(corral.wait_exit(5s), 1);
  auto lines = lines_of(corral.log());
  ASSERT_EQ(lines.size(), 1u) << corral.log();
  EXPECT_NE(lines[0].find("corral-no-such-image:latest"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("not present locally"), std::string::npos) << lines[0];
  EXPECT_TRUE(pool_containers(pool).empty());
}

TEST(spine, taken_proxy_port_exits_1_with_one_line_and_no_container) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(20160);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(ports.proxy);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  auto pool = unique_name("spine-taken");
  corral_process corral{pool, test_config(pool, ports), ports};
  EXPECT_FALSE(corral.start(5s));
  EXPECT_EQ(corral.wait_exit(5s), 1);
  ::close(fd);
  auto lines = lines_of(corral.log());
  ASSERT_EQ(lines.size(), 1u) << corral.log();
  EXPECT_NE(lines[0].find("cannot listen on 127.0.0.1:" + std::to_string(ports.proxy)),
            std::string::npos)
    << lines[0];
  EXPECT_TRUE(pool_containers(pool).empty());
}
