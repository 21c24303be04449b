// Changing the pool without an outage, against the real daemon: a restarted
// corral adopts its containers instead of replacing them, a second corral on
// the same pool refuses to start, and with one container a kill costs
// latency, not errors (requests wait for the replacement).
#include "tests/support/docker_env.hpp"
#include "tests/support/harness.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

using namespace corral::test;

namespace {

/// The container ids of the slots, by port.
std::map<uint16_t, std::string> ids_of(corral_process& corral) {
  std::map<uint16_t, std::string> ids;
  for (auto& s : corral.slots())
    ids[s.port] = s.container;
  return ids;
}

std::vector<uint16_t> ports_from(uint16_t first, uint16_t count) {
  std::vector<uint16_t> ports;
  for (uint16_t i = 0; i < count; ++i)
    ports.push_back(static_cast<uint16_t>(first + i));
  return ports;
}

} // namespace

TEST(restart, kill_9_then_a_restart_serves_with_the_same_containers) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(30120);
  auto pool = unique_name("adopt-kill9");
  // A long health interval: the pool must be ready long before the first
  // periodic probe, because adoption probes at once.
  corral_process corral{pool, test_config(pool, ports, "min_containers = 3\n",
                                          "[health]\ninterval = \"10s\"\n"),
                        ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  auto three = ports_from(ports.pool_start, 3);
  ASSERT_TRUE(corral.wait_pool(three, 20s)) << corral.log();
  auto before = ids_of(corral);

  corral.kill9();
  // The containers kept running without their corral.
  EXPECT_EQ(running_names(pool).size(), 3u);
  auto restarted_at = unix_seconds();
  ASSERT_TRUE(corral.start()) << corral.log();
  EXPECT_TRUE(corral.wait_pool(three, 10s)) << corral.log();
  EXPECT_EQ(ids_of(corral), before);
  EXPECT_EQ(pool_events_since(pool, restarted_at, "create"), 0);
  EXPECT_EQ(pool_events_since(pool, restarted_at, "die"), 0);
  // It serves through them.
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(http("GET", ports.proxy_url("/api/v1/categories")).status, 204);
  auto status = corral.status();
  EXPECT_EQ(status.at("pool").at("slots").as_array().size(), 3u);
  EXPECT_EQ(corral.stop(), 0);
  EXPECT_TRUE(running_names(pool).empty());
}

TEST(restart, on_exit_keep_then_a_start_restarts_nothing) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(30140);
  auto pool = unique_name("adopt-keep");
  corral_process corral{pool,
                        test_config(pool, ports, "min_containers = 2\non_exit = \"keep\"\n"),
                        ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  auto two = ports_from(ports.pool_start, 2);
  ASSERT_TRUE(corral.wait_pool(two, 20s)) << corral.log();
  auto before = ids_of(corral);
  EXPECT_EQ(corral.stop(), 0);
  EXPECT_EQ(running_names(pool).size(), 2u);

  auto restarted_at = unix_seconds();
  ASSERT_TRUE(corral.start()) << corral.log();
  EXPECT_TRUE(corral.wait_pool(two, 10s)) << corral.log();
  EXPECT_EQ(ids_of(corral), before);
  EXPECT_EQ(pool_events_since(pool, restarted_at, "create"), 0);
  EXPECT_NE(corral.log().find("adopted"), std::string::npos);
  auto metrics = corral.metrics();
  EXPECT_EQ(metric_value(metrics, "corral_container_events_total{event=\"adopted\"}"), 2);
  EXPECT_EQ(corral.stop(), 0);
  // The destructor removes what on_exit = keep left.
}

TEST(restart, containers_of_another_spec_are_rolled_a_few_at_a_time) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(30160);
  auto pool = unique_name("adopt-spec");
  auto config_with = [&](const std::string& version) {
    return test_config(pool, ports,
                       "min_containers = 3\non_exit = \"keep\"\nenv = { VERSION = \"" + version
                         + "\" }\n");
  };
  corral_process corral{pool, config_with("1"), ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  auto three = ports_from(ports.pool_start, 3);
  ASSERT_TRUE(corral.wait_pool(three, 20s)) << corral.log();
  auto before = ids_of(corral);
  EXPECT_EQ(corral.stop(), 0);

  // The same pool with another environment: another spec.
  corral.rewrite_config(config_with("2"));
  ASSERT_TRUE(corral.start()) << corral.log();
  load_generator load{ports.proxy_url("/api/v1/categories"), 2, 5ms};
  // Watch the rollout: never fewer than 3 ready (max_unavailable = 0),
  // counted from the moment all three adopted ones have passed their first
  // probe (they pass one by one after the start, so a poll may see 1 or 2).
  size_t fewest_ready = 3;
  bool all_adopted_ready = false;
  bool replaced = wait_until(60s, [&] {
    auto slots = corral.slots();
    size_t ready = std::count_if(slots.begin(), slots.end(),
                                 [](const slot_view& s) { return s.state == "ready"; });
    all_adopted_ready = all_adopted_ready || ready >= 3;
    if (all_adopted_ready)
      fewest_ready = std::min(fewest_ready, ready);
    auto now = ids_of(corral);
    if (now.size() != 3)
      return false;
    for (auto& [port, id] : now)
      if (id.empty() || before.count(port) == 0 || before.at(port) == id)
        return false;
    return corral.ready_ports() == three;
  });
  auto seen = load.stop();
  EXPECT_TRUE(replaced) << corral.log();
  EXPECT_GE(fewest_ready, 3u);
  EXPECT_EQ(seen.failed(), 0u) << seen.summary();
  EXPECT_EQ(corral.status().at("pool").at("rollout").at("state").as_string(), "done");
  EXPECT_EQ(corral.stop(), 0);
}

TEST(restart, a_second_corral_on_the_pool_exits_1_naming_the_first) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(30180);
  auto pool = unique_name("adopt-second");
  corral_process first{pool, test_config(pool, ports), ports};
  ASSERT_TRUE(first.start()) << first.log();
  ASSERT_TRUE(first.wait_pool({ports.pool_start}, 20s)) << first.log();
  auto container = first.container_on(ports.pool_start);

  // Other listen ports, the same pool.
  auto other = test_ports::from_base(30460);
  other.pool_start = ports.pool_start;
  corral_process second{pool, test_config(pool, other), other, {}, "second"};
  EXPECT_FALSE(second.start(5s));
  EXPECT_EQ(second.wait_exit(5s), 1);
  auto said = second.log();
  EXPECT_NE(said.find("corral: pool " + pool + " is managed by another corral (pid "
                      + std::to_string(first.pid())),
            std::string::npos)
    << said;
  EXPECT_EQ(std::count(said.begin(), said.end(), '\n'), 1) << said;
  // The first one is untouched and serves.
  EXPECT_EQ(first.container_on(ports.pool_start), container);
  EXPECT_EQ(http("GET", ports.proxy_url("/api/v1/categories")).status, 204);
  EXPECT_EQ(first.stop(), 0);
}

TEST(restart, with_one_container_a_kill_under_load_fails_no_request) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(30220);
  auto pool = unique_name("adopt-queue");
  corral_process corral{pool, test_config(pool, ports), ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  ASSERT_TRUE(corral.wait_pool({ports.pool_start}, 20s)) << corral.log();
  load_generator load{ports.proxy_url("/api/v1/categories"), 1, 0ms};
  ASSERT_TRUE(wait_until(5s, [&] { return load.answered() > 50; }));
  auto victim = corral.container_on(ports.pool_start);
  ASSERT_TRUE(docker_kill(victim));
  ASSERT_TRUE(wait_until(20s, [&] {
    auto now = corral.container_on(ports.pool_start);
    return !now.empty() && now != victim && corral.ready_ports().size() == 1;
  })) << corral.log();
  auto after_replacement = load.answered();
  ASSERT_TRUE(wait_until(5s, [&] { return load.answered() > after_replacement + 50; }));
  auto seen = load.stop();
  EXPECT_EQ(seen.failed(), 0u) << seen.summary();
  // They waited: the balancer queued some.
  auto status = corral.status();
  EXPECT_GT(status.at("balancer").at("queued").to_number<int64_t>(), 0) << status;
  EXPECT_EQ(corral.stop(), 0);
}
