// The admin endpoint against the real daemon: every actor role reports, and
// the counters move when the pool does (a kill, a failing probe, a scaling
// window, requests through the proxy). docs/OBSERVABILITY.md names them.
#include "tests/support/docker_env.hpp"
#include "tests/support/harness.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

using namespace corral::test;

namespace {

/// One series' value, 0 when absent.
double value_of(const std::string& metrics, const std::string& series) {
  return metric_value(metrics, series).value_or(0);
}

} // namespace

TEST(observability, every_role_reports_and_each_port_ask_is_one_round_trip) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(30020);
  auto pool = unique_name("obs-roles");
  corral_process corral{pool, test_config(pool, ports, "min_containers = 2\n"), ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  uint16_t p = ports.pool_start;
  ASSERT_TRUE(corral.wait_pool({p, uint16_t(p + 1)}, 20s)) << corral.log();

  auto before = corral.metrics();
  ASSERT_FALSE(before.empty());
  constexpr int requests = 40;
  http_client client;
  for (int i = 0; i < requests; ++i)
    ASSERT_EQ(client.get(ports.proxy_url("/api/v1/categories")).status, 204) << i;
  auto after = corral.metrics();

  // One observation per port asked for: the 40 requests, no retry.
  auto diff = [&](const std::string& series) {
    return value_of(after, series) - value_of(before, series);
  };
  EXPECT_EQ(diff("corral_balancer_round_trip_seconds_count"), requests) << after;
  EXPECT_EQ(diff("corral_balancer_asks_per_batch_sum"), requests);
  EXPECT_EQ(metric_sum(after, "corral_backend_requests_total")
              - metric_sum(before, "corral_backend_requests_total"),
            requests);
  // Strict round robin: 20 each.
  EXPECT_EQ(value_of(after, "corral_backend_requests_total{port=\"" + std::to_string(p) + "\"}"),
            requests / 2);

  // Every role handled messages and shows its mailbox.
  for (std::string role : {"supervisor", "balancer", "health_checker", "scaler", "container",
                           "admin"}) {
    auto label = "role=\"" + role + "\"";
    EXPECT_GT(metric_sum(after, "corral_actor_messages_total", {label}), 0) << role;
    EXPECT_NE(after.find("corral_actor_mailbox_length{" + label), std::string::npos) << role;
    EXPECT_GT(metric_sum(after, "corral_actor_handling_seconds_count", {label}), 0) << role;
    EXPECT_GE(metric_sum(after, "corral_actors_alive", {label}), role == "admin" ? 0 : 1)
      << role;
  }
  // The two container actors are one series each, by port.
  EXPECT_EQ(value_of(after, "corral_actors_alive{role=\"container\"}"), 2);
  EXPECT_GT(value_of(after, "corral_actor_messages_total{role=\"container\",port=\""
                              + std::to_string(p) + "\",kind=\"launch\"}"),
            0);
  // The admin actors of the earlier scrapes are gone, each counted.
  EXPECT_GE(value_of(after, "corral_actors_exited_total{role=\"admin\",reason=\"normal\"}"), 1);

  // /status shows the same per container.
  auto status = corral.status();
  ASSERT_TRUE(status.is_object());
  auto& slots = status.at("pool").at("slots").as_array();
  ASSERT_EQ(slots.size(), 2u);
  EXPECT_EQ(slots[0].at("requests").to_number<int64_t>(), requests / 2);
  EXPECT_EQ(slots[0].at("probe").at("result").as_string(), "ok");
  EXPECT_EQ(slots[0].at("actor").at("role").as_string(), "container");
  EXPECT_EQ(corral.stop(), 0);
}

TEST(observability, a_killed_container_shows_in_the_death_and_replacement_counters) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(30040);
  auto pool = unique_name("obs-kill");
  corral_process corral{pool, test_config(pool, ports), ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  uint16_t p = ports.pool_start;
  ASSERT_TRUE(corral.wait_pool({p}, 20s)) << corral.log();
  auto victim = corral.container_on(p);
  ASSERT_FALSE(victim.empty());
  ASSERT_TRUE(docker_kill(victim));
  // The replacement is a different container, ready.
  ASSERT_TRUE(wait_until(20s, [&] {
    auto now = corral.container_on(p);
    return !now.empty() && now != victim && corral.ready_ports() == std::vector<uint16_t>{p};
  })) << corral.log();

  std::string metrics;
  ASSERT_TRUE(wait_until(5s, [&] {
    metrics = corral.metrics();
    return value_of(metrics, "corral_container_events_total{event=\"replaced\"}") >= 1;
  })) << metrics;
  EXPECT_EQ(value_of(metrics, "corral_container_events_total{event=\"died\"}"), 1);
  EXPECT_EQ(value_of(metrics, "corral_container_deaths_total{exit_class=\"signal\"}"), 1);
  EXPECT_EQ(value_of(metrics, "corral_container_events_total{event=\"ready\"}"), 2);
  EXPECT_EQ(value_of(metrics, "corral_container_restarts_total{pool=\"" + pool + "\",port=\""
                                + std::to_string(p) + "\"}"),
            1);
  EXPECT_EQ(value_of(metrics, "corral_actors_spawned_total{role=\"container\"}"), 2);

  // /events tells the story with the dead container's id.
  auto answer = http("GET", ports.admin_url("/events"));
  ASSERT_EQ(answer.status, 200);
  auto events = boost::json::parse(answer.body).at("events").as_array();
  bool died = false;
  for (auto& e : events)
    died = died
           || (e.at("event").as_string() == "died"
               && e.at("container").as_string() == victim.substr(0, 12)
               && e.at("detail").as_string() == "exit 137");
  EXPECT_TRUE(died) << answer.body;
  EXPECT_EQ(corral.stop(), 0);
}

TEST(observability, a_failing_probe_shows_in_the_probe_counters) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(30060);
  auto pool = unique_name("obs-probe");
  corral_process corral{pool, test_config(pool, ports), ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  uint16_t p = ports.pool_start;
  ASSERT_TRUE(corral.wait_pool({p}, 20s)) << corral.log();
  auto first = corral.container_on(p);
  // From now on the container answers 500 to everything, its health too.
  ASSERT_EQ(http("POST", ports.container_url(p, "/api/v1/_crash")).status, 200);
  std::string metrics;
  auto failed = "corral_probes_total{port=\"" + std::to_string(p) + "\",result=\"failed_status\"}";
  ASSERT_TRUE(wait_until(10s, [&] {
    metrics = corral.metrics();
    return value_of(metrics, failed) >= 1;
  })) << metrics;
  ASSERT_TRUE(wait_until(10s, [&] {
    metrics = corral.metrics();
    return value_of(metrics, "corral_health_transitions_total{to=\"unhealthy\"}") >= 1
           && value_of(metrics, "corral_container_events_total{event=\"unhealthy\"}") >= 1;
  })) << metrics;
  EXPECT_GT(value_of(metrics, "corral_probes_total{port=\"" + std::to_string(p)
                                + "\",result=\"ok\"}"),
            0);
  EXPECT_GT(value_of(metrics, "corral_probe_duration_seconds_count"), 1);
  // And it was replaced.
  EXPECT_TRUE(wait_until(20s, [&] {
    auto now = corral.container_on(p);
    return !now.empty() && now != first && corral.ready_ports() == std::vector<uint16_t>{p};
  })) << corral.log();
  EXPECT_EQ(corral.stop(), 0);
}

TEST(observability, a_scaling_window_shows_in_the_decision_counter) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(30080);
  auto pool = unique_name("obs-scale");
  corral_process corral{pool, test_config(pool, ports, {}, "[scaling]\ninterval = \"2s\"\n"),
                        ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  uint16_t p = ports.pool_start;
  ASSERT_TRUE(corral.wait_pool({p}, 20s)) << corral.log();
  http_client client;
  for (int i = 0; i < 45; ++i)
    ASSERT_EQ(client.get(ports.proxy_url("/api/v1/categories")).status, 204) << i;
  std::string metrics;
  ASSERT_TRUE(wait_until(10s, [&] {
    metrics = corral.metrics();
    return value_of(metrics, "corral_scale_decisions_total{direction=\"up\",reason=\"rule\"}")
           == 1;
  })) << metrics;
  EXPECT_GE(value_of(metrics, "corral_scaler_windows_total"), 1);
  auto status = corral.status();
  auto& decision = status.at("scaler").at("last_decision");
  EXPECT_EQ(decision.at("to").to_number<int64_t>(), 3);
  EXPECT_EQ(decision.at("requests").to_number<int64_t>(), 45);
  EXPECT_EQ(corral.stop(), 0);
}

TEST(observability, admin_answers_404_for_unknown_paths_and_is_not_reachable_through_the_proxy) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(30100);
  auto pool = unique_name("obs-paths");
  corral_process corral{pool, test_config(pool, ports), ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  ASSERT_TRUE(corral.wait_pool({ports.pool_start}, 20s)) << corral.log();
  EXPECT_EQ(http("GET", ports.admin_url("/nope")).status, 404);
  EXPECT_EQ(http("GET", ports.admin_url("/metrics/extra")).status, 404);
  for (std::string path : {"/metrics", "/status", "/events", "/healthz"}) {
    EXPECT_EQ(http("GET", ports.admin_url(path)).status, 200) << path;
    // Through the proxy the path goes to the pool, which knows nothing of it.
    auto proxied = http("GET", ports.proxy_url(path));
    EXPECT_NE(proxied.status, 200) << path;
    EXPECT_EQ(proxied.body.find("corral_"), std::string::npos) << path;
    EXPECT_EQ(proxied.body.find("\"balancer\""), std::string::npos) << path;
  }
  EXPECT_EQ(corral.stop(), 0);
}
