// The admin documents rendered from a made-up snapshot: /status and /events
// as JSON, /metrics as Prometheus text (checked by promtool when present).
#include "app/admin_documents.hpp"
#include "tools/common/admin_status.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

using namespace corral;
namespace json = boost::json;

namespace {

admin_snapshot sample_snapshot() {
  admin_snapshot snap;
  snap.image = "acts:latest";
  snap.pool.name = "acts";
  snap.pool.desired = 2;
  snap.pool.min_containers = 1;
  snap.pool.max_containers = 10;
  snap.pool.slots = {{8000, "ready", "c0ffee0000000000", 1, 0, 1700000000000, "", "0123456789abcdef"},
                     {8001, "starting", "beef000000000000", 0, 0, 1700000001000, "", ""}};
  snap.pool.event_counts = {{"created", 3}, {"died", 1}};
  snap.pool.deaths = {{"signal", 1}};
  for (int i = 0; i < 30; ++i)
    snap.pool.events.push_back({1700000000000 + i, "ready", 8000, "c0ffee000000",
                                "event " + std::to_string(i)});
  snap.balancer.backends = {{8000, 2, 40, false}};
  snap.balancer.requests_by_port = {{8000, 120}, {8001, 0}};
  snap.balancer.ready = 1;
  snap.balancer.handed_out = 120;
  port_probes probes;
  probes.port = 8000;
  probes.by_outcome = {10, 1, 2, 3, 0, 0};
  probes.last_result = "ok";
  probes.last_latency_seconds = 0.0005;
  probes.last_at_ms = 1700000002000;
  snap.health.ports = {probes};
  snap.health.probe_seconds = metrics::duration_histogram{}.seconds();
  snap.scaler.windows = 2;
  snap.scaler.last_window_requests = 45;
  snap.scaler.decisions = {{{"up", "rule"}, 1}, {{"hold", "rule"}, 1}};
  snap.scaler.last = {1, 3, "up", "rule", 45, 1700000003000};
  metrics::actor_census census;
  auto bal = census.enlist("balancer");
  bal->begin(0, 2);
  bal->end(bal->kind({1, 0}, [] { return std::string{"next"}; }), 1000, 0);
  auto c = census.enlist("container", 8000);
  c->begin(0, 0);
  c->end(c->kind({2, 0}, [] { return std::string{"launch"}; }), 5'000'000, 0);
  census.discharge(census.enlist("admin"), "normal");
  snap.actors = census.snapshot(10'000'000);
  snap.proxy.requests = 120;
  snap.proxy.round_trip = metrics::duration_histogram{}.seconds();
  snap.proxy.asks_per_batch = metrics::histogram<batch_bounds.size()>{batch_bounds}.snapshot(1);
  snap.proxy.latency = metrics::histogram<latency_bounds_us.size()>{latency_bounds_us}.snapshot(1e-6);
  snap.process = read_process_info("9.9.9", 1700000000000);
  return snap;
}

/// Every metric family's name (from its TYPE line).
std::set<std::string> families(const std::string& text) {
  std::set<std::string> names;
  std::istringstream lines{text};
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("# TYPE ", 0) == 0)
      names.insert(line.substr(7, line.find(' ', 7) - 7));
  return names;
}

} // namespace

TEST(admin_documents, status_shows_each_slot_with_requests_probe_and_its_actor) {
  auto doc = json::parse(render_status_json(sample_snapshot())).as_object();
  auto& slots = doc.at("pool").at("slots").as_array();
  ASSERT_EQ(slots.size(), 2u);
  auto& ready = slots[0].as_object();
  EXPECT_EQ(ready.at("requests").to_number<uint64_t>(), 120u);
  EXPECT_EQ(ready.at("in_flight").to_number<uint64_t>(), 2u);
  EXPECT_EQ(ready.at("probe").at("result").as_string(), "ok");
  EXPECT_DOUBLE_EQ(ready.at("probe").at("latency_ms").as_double(), 0.5);
  EXPECT_EQ(ready.at("actor").at("messages").at("launch").to_number<uint64_t>(), 1u);
  // No probe and no actor of its own yet: null, not missing.
  auto& starting = slots[1].as_object();
  EXPECT_TRUE(starting.at("probe").is_null());
  EXPECT_TRUE(starting.at("actor").is_null());
  EXPECT_EQ(doc.at("pool").at("ready").to_number<uint64_t>(), 1u);
  EXPECT_EQ(doc.at("scaler").at("last_decision").at("to").to_number<uint64_t>(), 3u);
  EXPECT_EQ(doc.at("corral").at("version").as_string(), "9.9.9");
  auto& actors = doc.at("actors").as_array();
  ASSERT_EQ(actors.size(), 3u);
  EXPECT_EQ(actors[0].at("role").as_string(), "admin");
  EXPECT_EQ(actors[0].at("exited").at("normal").to_number<uint64_t>(), 1u);
  EXPECT_EQ(actors[1].at("role").as_string(), "balancer");
  EXPECT_EQ(actors[1].at("mailbox_max").to_number<uint64_t>(), 2u);
  EXPECT_FALSE(actors[1].as_object().contains("port"));
  EXPECT_EQ(actors[2].at("port").to_number<uint64_t>(), 8000u);
  // The newest 20 of 30 events, oldest first.
  auto& events = doc.at("events").as_array();
  ASSERT_EQ(events.size(), status_events);
  EXPECT_EQ(events.front().at("detail").as_string(), "event 10");
  EXPECT_EQ(events.back().at("detail").as_string(), "event 29");
}

// The chaos tool and the integration harness read /status with
// tools/common's parser: it must read what corral really writes, not a
// sample shaped by hand after it.
TEST(admin_documents, the_tools_read_the_status_corral_writes) {
  auto snap = sample_snapshot();
  snap.pool.name = "bench-chaos";
  snap.pool.desired = 3;
  snap.pool.slots = {
    {21010, "ready", "aaa", 0, 0, 1, "", ""},
    {21011, "starting", "bbb", 2, 1, 1, "exited with status 137", ""},
    {21012, "ready", "ccc", 0, 0, 1, "", ""},
  };
  snap.proxy.requests = 900;
  snap.proxy.retries = 40;
  snap.proxy.bad_gateway = 1;
  snap.proxy.no_backend = 2;
  snap.proxy.gateway_timeout = 3;
  auto view = admin::parse_status(render_status_json(snap));
  ASSERT_TRUE(view);
  EXPECT_EQ(view->name, "bench-chaos");
  EXPECT_EQ(view->desired, 3u);
  ASSERT_EQ(view->slots.size(), 3u);
  EXPECT_EQ(view->slots[1].port, 21011);
  EXPECT_EQ(view->slots[1].state, "starting");
  EXPECT_EQ(view->slots[1].container, "bbb");
  EXPECT_EQ(view->slots[1].restarts, 2u);
  EXPECT_EQ(view->slots[1].last_error, "exited with status 137");
  EXPECT_EQ(view->ready_count(), 2u);
  EXPECT_FALSE(view->whole());
  ASSERT_NE(view->find(21012), nullptr);
  EXPECT_EQ(view->find(21012)->container, "ccc");
  ASSERT_TRUE(view->proxy);
  EXPECT_EQ(view->proxy->requests, 900u);
  EXPECT_EQ(view->proxy->retries, 40u);
  EXPECT_EQ(view->proxy->bad_gateway, 1u);
  EXPECT_EQ(view->proxy->no_backend, 2u);
  EXPECT_EQ(view->proxy->gateway_timeout, 3u);
}

TEST(admin_documents, events_lists_the_whole_log) {
  auto doc = json::parse(render_events_json(sample_snapshot().pool)).as_object();
  EXPECT_EQ(doc.at("events").as_array().size(), 30u);
}

TEST(admin_documents, metrics_has_every_family_of_the_contract) {
  auto text = render_metrics(sample_snapshot());
  auto names = families(text);
  for (auto* name :
       {"corral_actors_alive", "corral_actors_spawned_total", "corral_actors_exited_total",
        "corral_actor_messages_total", "corral_actor_mailbox_length",
        "corral_actor_mailbox_max_length", "corral_actor_handling_seconds",
        "corral_actor_busy_seconds", "corral_balancer_round_trip_seconds",
        "corral_balancer_asks_per_batch", "corral_pool_desired_containers",
        "corral_pool_min_containers", "corral_pool_max_containers", "corral_pool_containers",
        "corral_container_restarts_total", "corral_container_events_total",
        "corral_container_deaths_total", "corral_backend_requests_total",
        "corral_backend_in_flight", "corral_balancer_backends_ready",
        "corral_balancer_handed_out_total", "corral_balancer_no_backend_total",
        "corral_balancer_unreachable_total", "corral_scaling_window_requests",
        "corral_probes_total", "corral_probe_duration_seconds",
        "corral_health_transitions_total", "corral_scale_decisions_total",
        "corral_scaler_windows_total", "corral_scaler_last_window_requests",
        "corral_proxy_connections_accepted_total", "corral_proxy_connections_open",
        "corral_proxy_requests_total", "corral_proxy_responses_total",
        "corral_proxy_errors_total", "corral_proxy_retries_total",
        "corral_proxy_backend_attempts_total", "corral_proxy_request_duration_seconds",
        "corral_build_info", "process_cpu_seconds_total", "process_resident_memory_bytes",
        "process_open_fds", "process_max_fds", "process_start_time_seconds"})
    EXPECT_TRUE(names.count(name)) << name << " missing";
  EXPECT_NE(text.find("corral_backend_requests_total{port=\"8000\"} 120\n"), std::string::npos);
  EXPECT_NE(text.find("corral_probes_total{port=\"8000\",result=\"timeout\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("corral_actor_messages_total{role=\"container\",port=\"8000\","
                      "kind=\"launch\"} 1\n"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("corral_actors_exited_total{role=\"admin\",reason=\"normal\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("corral_container_deaths_total{exit_class=\"signal\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("corral_scale_decisions_total{direction=\"up\",reason=\"rule\"} 1\n"),
            std::string::npos);
}

// promtool is Prometheus' own linter for the text format; scripts/test
// installs it (Debian's prometheus package).
TEST(admin_documents, promtool_accepts_the_metrics) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    if (std::getenv("CORRAL_REQUIRE_DOCKER") != nullptr)
      FAIL() << "promtool is missing (scripts/test installs Debian's prometheus package)";
    GTEST_SKIP() << "promtool is not installed";
  }
  auto path = testing::TempDir() + "corral-metrics.txt";
  {
    std::ofstream out{path};
    out << render_metrics(sample_snapshot());
  }
  auto command = "promtool check metrics < " + path + " > " + path + ".out 2>&1";
  auto status = std::system(command.c_str());
  std::ifstream said{path + ".out"};
  std::stringstream complaints;
  complaints << said.rdbuf();
  EXPECT_EQ(status, 0) << complaints.str();
  std::remove(path.c_str());
  std::remove((path + ".out").c_str());
}
