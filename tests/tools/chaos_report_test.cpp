// The chaos report: order statistics, the clean verdict, the table and the JSON line.
#include "tools/chaos/report.hpp"
#include "tools/chaos/stats.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

using namespace corral::chaos;
using namespace std::chrono_literals;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// A clean run: two kills repaired, no failure, the pool whole.
chaos_report clean_run() {
  chaos_report r;
  r.pool = "bench-chaos";
  r.proxy = "127.0.0.1:21000";
  r.load_path = "/api/v1/categories";
  r.health_path = "/api/v1/_health";
  r.load_threads = 4;
  r.seed = 7;
  r.kill_every = 3s;
  r.poll_every = 10ms;
  r.injecting_ms = 60000;
  r.settling_ms = 812;
  r.faults = {{fault_kind::kill, 21011, 1000, 70, 600}, {fault_kind::kill, 21010, 4000, 90, 800}};
  r.sent = 5000;
  r.ok = 5000;
  r.status_round_trip = spread{100, 0.5, 1.2, 9.8};
  r.end = {true, 3, 3, 3, 3, 3};
  return r;
}

} // namespace

TEST(chaos_stats, min_median_max_of_odd_and_even_counts) {
  EXPECT_FALSE(summarize({}));
  auto odd = summarize({30, 10, 20});
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->count, 3u);
  EXPECT_DOUBLE_EQ(odd->min, 10);
  EXPECT_DOUBLE_EQ(odd->median, 20);
  EXPECT_DOUBLE_EQ(odd->max, 30);
  auto even = summarize({4, 1, 3, 2});
  ASSERT_TRUE(even);
  EXPECT_DOUBLE_EQ(even->median, 2.5);
  auto one = summarize({5});
  EXPECT_DOUBLE_EQ(one->min, 5);
  EXPECT_DOUBLE_EQ(one->median, 5);
  EXPECT_DOUBLE_EQ(one->max, 5);
}

TEST(chaos_report, clean_needs_no_failure_every_fault_repaired_and_a_whole_pool) {
  EXPECT_TRUE(is_clean(clean_run()));

  auto failed = clean_run();
  failed.failures["status 502"] = 1;
  EXPECT_FALSE(is_clean(failed));
  EXPECT_EQ(failed.failed(), 1u);

  auto unrepaired = clean_run();
  unrepaired.faults[1].replacement_ms.reset();
  EXPECT_EQ(unrepaired.unrepaired(), 1u);
  EXPECT_FALSE(is_clean(unrepaired));

  auto short_pool = clean_run();
  short_pool.end.ready = 2;
  EXPECT_FALSE(is_clean(short_pool));

  auto leaked = clean_run();
  leaked.end.running = 4; // a container corral no longer knows about
  EXPECT_FALSE(is_clean(leaked));

  auto sick = clean_run();
  sick.end.healthy = 2;
  EXPECT_FALSE(is_clean(sick));

  auto refused = clean_run();
  refused.injection_errors.push_back("kill on port 21010 failed: no such container");
  EXPECT_FALSE(is_clean(refused));
}

TEST(chaos_report, timings_are_per_kind) {
  auto r = clean_run();
  r.faults.push_back({fault_kind::crash, 21012, 5000, 1200, 1700});
  auto kills = timings(r, fault_kind::kill);
  ASSERT_TRUE(kills.detection && kills.replacement);
  EXPECT_DOUBLE_EQ(kills.detection->median, 80);
  EXPECT_DOUBLE_EQ(kills.replacement->min, 600);
  EXPECT_DOUBLE_EQ(kills.replacement->max, 800);
  auto crashes = timings(r, fault_kind::crash);
  EXPECT_EQ(crashes.replacement->count, 1u);
  EXPECT_DOUBLE_EQ(crashes.replacement->median, 1700);
}

TEST(chaos_report, table_shows_counts_times_and_the_verdict) {
  auto table = render_table(clean_run());
  EXPECT_TRUE(contains(table, "| requests sent | 5000 |")) << table;
  EXPECT_TRUE(contains(table, "| failed idempotent requests | 0 |")) << table;
  EXPECT_TRUE(contains(table, "Every load request is a GET")) << table;
  EXPECT_TRUE(contains(table, "| kills (SIGKILL) | 2 |")) << table;
  EXPECT_TRUE(contains(table, "| kill → detection | 2 of 2 | 70 | 80 | 90 |")) << table;
  EXPECT_TRUE(contains(table, "| kill → replacement ready | 2 of 2 | 600 | 700 | 800 |"))
    << table;
  EXPECT_TRUE(contains(table, "3 of 3 ready, 3 answer GET /api/v1/_health, 3 running in Docker"))
    << table;
  EXPECT_TRUE(contains(table, "| verdict | clean |")) << table;
  EXPECT_TRUE(contains(table, "read every 10ms")) << table;
  EXPECT_FALSE(contains(table, "crash →")) << table; // no crash, no crash rows
  EXPECT_FALSE(contains(table, "First failed requests")) << table;
}

TEST(chaos_report, table_lists_failures_by_kind_and_places_them_after_their_fault) {
  auto r = clean_run();
  r.sent = 5002;
  r.failures["status 502"] = 2;
  r.failure_log = {{4010, 4012, "status 502", "no backend answered"},
                   {4020, 4021, "status 502", ""}};
  auto table = render_table(r);
  EXPECT_TRUE(contains(table, "| failed idempotent requests | 2 |")) << table;
  EXPECT_TRUE(contains(table, "| &nbsp;&nbsp;status 502 | 2 |")) << table;
  EXPECT_TRUE(contains(table, "| verdict | NOT clean |")) << table;
  EXPECT_TRUE(contains(table, "sent 4010, ended 4012: status 502 (10 ms after the kill on port "
                              "21010) - no backend answered"))
    << table;
}

TEST(chaos_report, unrepaired_faults_show_in_the_seen_column) {
  auto r = clean_run();
  r.faults[1].replacement_ms.reset();
  auto table = render_table(r);
  EXPECT_TRUE(contains(table, "| kill → replacement ready | 1 of 2 | 600 | 600 | 600 |"))
    << table;
}

TEST(chaos_report, json_is_one_line_with_the_same_facts) {
  auto r = clean_run();
  r.failures["status 503"] = 1;
  auto line = render_json(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto doc = boost::json::parse(line).as_object();
  EXPECT_EQ(doc.at("pool").as_string(), "bench-chaos");
  EXPECT_EQ(doc.at("kills").to_number<int>(), 2);
  EXPECT_EQ(doc.at("failed").to_number<int>(), 1);
  EXPECT_EQ(doc.at("failures").at("status 503").to_number<int>(), 1);
  EXPECT_DOUBLE_EQ(
    doc.at("times").at("kill").at("replacement_ms").at("median").to_number<double>(), 700);
  EXPECT_EQ(doc.at("times").at("crash").at("detection_ms").at("n").to_number<int>(), 0);
  EXPECT_TRUE(doc.at("pool_end").at("whole_and_healthy").as_bool());
  EXPECT_FALSE(doc.at("clean").as_bool());
  EXPECT_EQ(doc.at("faults").as_array().size(), 2u);
}

TEST(chaos_report, phase_timings_keep_the_order_states_were_met_in) {
  auto r = clean_run();
  r.faults[0].phases_ms = {{"stopping", 100}, {"creating", 150}, {"starting", 280}};
  r.faults[1].phases_ms = {{"checking", 5}, {"stopping", 120}, {"creating", 170},
                           {"starting", 300}, {"waiting", 10}, {"creating", 30}};
  auto phases = phase_timings(r, fault_kind::kill);
  ASSERT_EQ(phases.size(), 5u);
  EXPECT_EQ(phases[0].first, "stopping");
  EXPECT_DOUBLE_EQ(phases[0].second.median, 110);
  EXPECT_EQ(phases[1].first, "creating");
  EXPECT_DOUBLE_EQ(phases[1].second.max, 200); // 170 + 30: summed per fault
  EXPECT_EQ(phases[3].first, "checking");
  EXPECT_EQ(phases[3].second.count, 1u);
  auto table = render_table(r);
  EXPECT_TRUE(contains(table, "| &nbsp;&nbsp;of which in state starting | 2 of 2 | 280 | 290 | 300 |"))
    << table;
}

TEST(chaos_report, table_shows_what_the_proxy_hid_when_known) {
  auto r = clean_run();
  EXPECT_FALSE(contains(render_table(r), "corral's proxy meanwhile"));
  r.proxy_delta = proxy_counters{5001, 7, 0, 0, 0};
  auto table = render_table(r);
  EXPECT_TRUE(contains(table, "| corral's proxy meanwhile | 5001 requests, 7 attempts retried on "
                              "another backend, 0 x 502, 0 x 503, 0 x 504 |"))
    << table;
  auto doc = boost::json::parse(render_json(r)).as_object();
  EXPECT_EQ(doc.at("proxy").at("retries").to_number<int>(), 7);
}

TEST(chaos_report, an_interrupted_run_is_not_a_pass) {
  auto r = clean_run();
  EXPECT_EQ(exit_status(r), 0);
  r.interrupted = true;
  EXPECT_TRUE(is_clean(r)); // nothing went wrong while it ran...
  EXPECT_EQ(exit_status(r), 1); // ...but it proves less than was asked
  EXPECT_TRUE(contains(render_table(r), "| verdict | clean, but interrupted: shorter than asked |"));
  r.failures["status 502"] = 1;
  EXPECT_EQ(exit_status(r), 1);
}
