// Fault tolerance against the real daemon: crashed and killed containers are
// replaced on the same port while clients see no failure, a crash-looping
// slot backs off without hurting the others.
#include "tests/support/docker_env.hpp"
#include "tests/support/harness.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>

using namespace corral::test;

namespace {

/// True when the slot on `port` is ready with a container other than `old_id`.
bool replaced(corral_process& corral, uint16_t port, const std::string& old_id) {
  for (auto& s : corral.slots())
    if (s.port == port)
      return s.state == "ready" && !s.container.empty() && s.container != old_id;
  return false;
}

} // namespace

TEST(fault, crashed_container_is_replaced_on_its_port_within_three_check_intervals) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(20200);
  auto pool = unique_name("fault-crash");
  // The default fault check interval: 1 s.
  corral_process corral{pool, test_config(pool, ports, "min_containers = 2\n"), ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  uint16_t port = ports.pool_start;
  ASSERT_TRUE(corral.wait_pool({port, uint16_t(port + 1)}, 20s)) << corral.log();
  auto old_id = corral.container_on(port);

  auto crashed_at = std::chrono::steady_clock::now();
  ASSERT_EQ(http("POST", ports.container_url(port, "/api/v1/_crash")).status, 200);
  ASSERT_EQ(http("GET", ports.container_url(port, "/api/v1/_health")).status, 500);

  bool back = wait_until(3s, [&] {
    return replaced(corral, port, old_id)
           && http("GET", ports.container_url(port, "/api/v1/_health"), {}, {}, 500ms).status
                == 200
           && corral.ready_ports().size() == 2;
  });
  auto took = std::chrono::steady_clock::now() - crashed_at;
  EXPECT_TRUE(back) << corral.log();
  EXPECT_LT(took, 3s);
  auto names = running_names(pool);
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0], pool + "-" + std::to_string(port)); // the same name, a new container
  EXPECT_EQ(corral.stop(), 0);
}

TEST(fault, killed_container_under_load_costs_no_client_request) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(20220);
  auto pool = unique_name("fault-kill");
  corral_process corral{pool, test_config(pool, ports, "min_containers = 3\n"), ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  uint16_t p = ports.pool_start;
  ASSERT_TRUE(corral.wait_pool({p, uint16_t(p + 1), uint16_t(p + 2)}, 20s)) << corral.log();
  uint16_t victim = p + 1;
  auto old_id = corral.container_on(victim);

  load_generator load{ports.proxy_url("/api/v1/categories"), 4, 1ms};
  ASSERT_TRUE(wait_until(5s, [&] { return load.answered() > 200; }));
  ASSERT_TRUE(docker_kill(pool + "-" + std::to_string(victim)));
  EXPECT_TRUE(wait_until(10s, [&] { return replaced(corral, victim, old_id); })) << corral.log();
  // Keep the load on a while with the replacement in the rotation.
  auto before = load.answered();
  ASSERT_TRUE(wait_until(5s, [&] { return load.answered() > before + 300; }));
  auto seen = load.stop();
  EXPECT_EQ(seen.failed(), 0u) << seen.summary();
  EXPECT_GT(seen.ok, 500u) << seen.summary();
  EXPECT_EQ(http("GET", ports.container_url(victim, "/api/v1/_health")).status, 200);
  EXPECT_EQ(corral.ready_ports(), (std::vector<uint16_t>{p, uint16_t(p + 1), uint16_t(p + 2)}));
  EXPECT_EQ(corral.stop(), 0);
}

TEST(fault, killing_every_container_fails_requests_only_until_the_first_is_back) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(20240);
  auto pool = unique_name("fault-all");
  corral_process corral{pool, test_config(pool, ports, "min_containers = 3\n"), ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  uint16_t p = ports.pool_start;
  std::vector<uint16_t> all{p, uint16_t(p + 1), uint16_t(p + 2)};
  ASSERT_TRUE(corral.wait_pool(all, 20s)) << corral.log();

  std::set<std::string> killed;
  for (auto port : all)
    killed.insert(corral.container_on(port));
  ASSERT_EQ(killed.size(), 3u);

  load_generator load{ports.proxy_url("/api/v1/categories"), 3, 1ms};
  ASSERT_TRUE(wait_until(5s, [&] { return load.answered() > 100; }));
  std::vector<std::thread> killers;
  for (auto port : all)
    killers.emplace_back([&, port] { docker_kill(pool + "-" + std::to_string(port)); });
  for (auto& k : killers)
    k.join();
  // Wait until the first replacement serves, then take stock: whatever
  // failed so far failed while nothing was ready. A ready slot counts only
  // with a new container: until their die events arrive, /status still
  // shows the killed ones ready.
  ASSERT_TRUE(wait_until(10s, [&] {
    for (auto& s : corral.slots())
      if (s.state == "ready" && !s.container.empty() && killed.count(s.container) == 0)
        return true;
    return false;
  }, 5ms)) << corral.log();
  auto at_first_ready = load.stop();
  for (auto& [kind, count] : at_first_ready.failures)
    EXPECT_TRUE(kind == "status 502" || kind == "status 503") << at_first_ready.summary();
  // From now on everything is served, and the pool returns to full size.
  load_generator after{ports.proxy_url("/api/v1/categories"), 3, 1ms};
  EXPECT_TRUE(corral.wait_pool(all, 10s)) << corral.log();
  ASSERT_TRUE(wait_until(5s, [&] { return after.answered() > 300; }));
  auto seen = after.stop();
  EXPECT_EQ(seen.failed(), 0u) << seen.summary();
  EXPECT_EQ(corral.stop(), 0);
}

TEST(fault, slot_whose_process_exits_at_once_backs_off_while_others_serve) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(20260);
  auto pool = unique_name("fault-loop");
  uint16_t p = ports.pool_start;
  // One image: it serves on the first port and exits at once on the second.
  auto toml = test_config(pool, ports,
                          "min_containers = 2\nenv = { EXIT_ON_PORTS = \""
                            + std::to_string(p + 1) + "\" }\n",
                          "[health]\npath = \"/\"\n"
                          "[restart]\nbackoff = \"200ms\"\nmax_backoff = \"2s\"\n");
  toml.replace(toml.find("acts:latest"), 11, "corral-test-http-hello:latest");
  corral_process corral{pool, toml, ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  ASSERT_TRUE(wait_until(20s, [&] {
    auto ready = corral.ready_ports();
    return std::find(ready.begin(), ready.end(), p) != ready.end();
  })) << corral.log();
  load_generator load{ports.proxy_url("/"), 1, 5ms};
  // The backoff grows: 200 ms, 400 ms, 800 ms, 1600 ms, then capped at 2 s.
  EXPECT_TRUE(wait_until(20s, [&] {
    return corral.log().find(" next_attempt_ms=2000\n") != std::string::npos;
  })) << corral.log();
  auto log = corral.log();
  std::vector<size_t> at;
  for (auto delay : {"200", "400", "800", "1600", "2000"}) {
    auto pos = log.find(std::string{" next_attempt_ms="} + delay + "\n");
    EXPECT_NE(pos, std::string::npos) << delay;
    at.push_back(pos);
  }
  EXPECT_TRUE(std::is_sorted(at.begin(), at.end())) << log;
  EXPECT_TRUE(corral.running());
  EXPECT_EQ(corral.ready_ports(), (std::vector<uint16_t>{p}));
  auto seen = load.stop();
  EXPECT_EQ(seen.failed(), 0u) << seen.summary();
  EXPECT_GT(seen.ok, 50u);
  EXPECT_EQ(corral.stop(), 0);
  EXPECT_TRUE(pool_containers(pool).empty());
}
