// metrics/: the single-writer histogram, the actor meters and census, and the
// Prometheus text format's syntax.
#include "metrics/actor_census.hpp"
#include "metrics/exposition.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

using namespace corral::metrics;

namespace {

size_t count_lines_starting(const std::string& text, const std::string& prefix) {
  size_t n = 0;
  size_t at = 0;
  while (at < text.size()) {
    auto end = text.find('\n', at);
    if (text.compare(at, prefix.size(), prefix) == 0)
      ++n;
    if (end == std::string::npos)
      break;
    at = end + 1;
  }
  return n;
}

} // namespace

// -- histogram ------------------------------------------------------------------------

TEST(histogram, observations_land_in_the_first_bucket_whose_bound_holds_them) {
  histogram<3> h{{10, 100, 1000}};
  for (uint64_t v : {0, 10, 11, 100, 999, 1000, 1001, 5000})
    h.observe(v);
  auto s = h.snapshot(1.0);
  EXPECT_EQ(s.buckets, (std::vector<uint64_t>{2, 2, 2, 2})); // le10, le100, le1000, +Inf
  EXPECT_EQ(s.count, 8u);
  EXPECT_DOUBLE_EQ(s.sum, 0 + 10 + 11 + 100 + 999 + 1000 + 1001 + 5000);
  EXPECT_EQ(s.bounds, (std::vector<double>{10, 100, 1000}));
}

TEST(histogram, snapshot_scales_bounds_and_sum_to_the_exposition_unit) {
  duration_histogram h;
  h.observe(2'000'000); // 2 ms
  auto s = h.seconds();
  EXPECT_DOUBLE_EQ(s.sum, 0.002);
  EXPECT_DOUBLE_EQ(s.bounds.front(), 1e-6);
  EXPECT_DOUBLE_EQ(s.bounds.back(), 10.0);
}

TEST(histogram, quantile_interpolates_inside_a_bucket_like_prometheus) {
  histogram_snapshot s;
  s.bounds = {1, 2, 4};
  s.buckets = {0, 10, 0, 0};
  s.count = 10;
  // All ten in (1, 2]: the median is half-way through that bucket.
  EXPECT_DOUBLE_EQ(s.quantile(0.5), 1.5);
  EXPECT_DOUBLE_EQ(s.quantile(1.0), 2.0);
  s.buckets = {0, 0, 0, 3};
  s.count = 3;
  EXPECT_DOUBLE_EQ(s.quantile(0.99), 4.0); // +Inf: the highest finite bound
  EXPECT_DOUBLE_EQ(histogram_snapshot{}.quantile(0.5), 0.0);
}

TEST(histogram, snapshots_add_bucket_by_bucket) {
  histogram<2> a{{1, 2}}, b{{1, 2}};
  a.observe(1);
  b.observe(2);
  b.observe(3);
  histogram_snapshot sum;
  sum += a.snapshot(1.0);
  sum += b.snapshot(1.0);
  EXPECT_EQ(sum.buckets, (std::vector<uint64_t>{1, 1, 1}));
  EXPECT_EQ(sum.count, 3u);
  EXPECT_DOUBLE_EQ(sum.sum, 6.0);
}

// -- actor meters and the census ---------------------------------------------------------

TEST(actor_meter, counts_messages_by_kind_and_samples_the_mailbox) {
  actor_meter m{"balancer", 0};
  auto next = m.kind({7, 0}, [] { return std::string{"next"}; });
  auto up = m.kind({8, 0}, [] { return std::string{"up"}; });
  EXPECT_EQ(m.kind({7, 0}, [] { return std::string{"never asked"}; }), next);
  m.begin(1'000, 5);
  m.end(next, 3'000, 2);
  m.begin(4'000, 2);
  m.end(next, 4'500, 0);
  m.begin(5'000, 0);
  m.end(up, 5'100, 0);
  EXPECT_EQ(m.messages(), (std::map<std::string, uint64_t>{{"next", 2}, {"up", 1}}));
  EXPECT_EQ(m.messages_total(), 3u);
  EXPECT_EQ(m.mailbox(), 0u);
  EXPECT_EQ(m.mailbox_max(), 5u);
  auto h = m.handling_seconds();
  EXPECT_EQ(h.count, 3u);
  EXPECT_DOUBLE_EQ(h.sum, (2'000 + 500 + 100) * 1e-9);
}

TEST(actor_meter, busy_shows_how_long_the_current_message_takes) {
  actor_meter m{"container", 8000};
  EXPECT_EQ(m.busy_seconds(10'000'000'000), 0.0);
  m.begin(1'000'000'000, 0);
  EXPECT_DOUBLE_EQ(m.busy_seconds(3'000'000'000), 2.0);
  m.end(m.kind({1, 0}, [] { return std::string{"stop"}; }), 3'000'000'000, 0);
  EXPECT_EQ(m.busy_seconds(4'000'000'000), 0.0);
}

TEST(actor_meter, kinds_past_the_table_count_as_other) {
  actor_meter m{"x", 0};
  for (uint64_t k = 1; k <= actor_meter::max_kinds + 3; ++k) {
    auto slot = m.kind({k, 0}, [k] { return "k" + std::to_string(k); });
    m.begin(0, 0);
    m.end(slot, 1, 0);
  }
  auto kinds = m.messages();
  EXPECT_EQ(kinds.size(), actor_meter::max_kinds + 1);
  EXPECT_EQ(kinds["other"], 3u);
  EXPECT_EQ(m.messages_total(), actor_meter::max_kinds + 3);
}

TEST(actor_census, counts_never_go_back_when_an_actor_exits) {
  actor_census census;
  auto first = census.enlist("container", 8000);
  auto k = first->kind({1, 0}, [] { return std::string{"launch"}; });
  first->begin(1, 3);
  first->end(k, 10, 0);
  census.discharge(first, "normal");
  auto second = census.enlist("container", 8000);
  second->begin(20, 0);
  second->end(second->kind({1, 0}, [] { return std::string{"launch"}; }), 30, 1);
  auto all = census.snapshot(100);
  ASSERT_EQ(all.size(), 1u);
  auto& s = all[0];
  EXPECT_EQ(s.role, "container");
  EXPECT_EQ(s.port, 8000);
  EXPECT_EQ(s.alive, 1u);
  EXPECT_EQ(s.spawned, 2u);
  EXPECT_EQ(s.exited, (std::map<std::string, uint64_t>{{"normal", 1}}));
  EXPECT_EQ(s.messages, (std::map<std::string, uint64_t>{{"launch", 2}}));
  EXPECT_EQ(s.handling.count, 2u);
  EXPECT_EQ(s.mailbox, 1u);     // the live one's
  EXPECT_EQ(s.mailbox_max, 3u); // the retired one's
  census.discharge(first, "kill"); // twice: ignored
  EXPECT_EQ(census.snapshot(100)[0].exited.size(), 1u);
}

TEST(actor_census, series_are_per_role_and_port_and_exist_before_any_message) {
  actor_census census;
  auto sup = census.enlist("supervisor");
  auto c1 = census.enlist("container", 8001);
  auto c0 = census.enlist("container", 8000);
  auto all = census.snapshot(0);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].role, "container");
  EXPECT_EQ(all[0].port, 8000);
  EXPECT_EQ(all[1].port, 8001);
  EXPECT_EQ(all[2].role, "supervisor");
  // Every series has the histogram's buckets, even with nothing observed.
  EXPECT_EQ(all[2].handling.buckets.size(), duration_bounds_ns.size() + 1);
  EXPECT_EQ(all[2].handling.count, 0u);
}

// -- the text format -----------------------------------------------------------------------

TEST(exposition, writes_help_type_and_escaped_labels) {
  exposition out;
  out.family("corral_x_total", "counter", "Line one\nback\\slash.");
  out.sample("corral_x_total", {{"kind", "a\"b\\c\nd"}}, uint64_t{7});
  out.sample("corral_x_total", {}, 0.25);
  EXPECT_EQ(out.text(), "# HELP corral_x_total Line one\\nback\\\\slash.\n"
                        "# TYPE corral_x_total counter\n"
                        "corral_x_total{kind=\"a\\\"b\\\\c\\nd\"} 7\n"
                        "corral_x_total 0.25\n");
}

TEST(exposition, histogram_buckets_are_cumulative_and_count_equals_inf) {
  histogram<2> h{{1, 10}};
  h.observe(1);
  h.observe(5);
  h.observe(50);
  exposition out;
  out.family("corral_h_seconds", "histogram", "h.");
  out.histogram("corral_h_seconds", {{"role", "balancer"}}, h.snapshot(1.0));
  auto& text = out.text();
  EXPECT_NE(text.find("corral_h_seconds_bucket{role=\"balancer\",le=\"1\"} 1\n"), std::string::npos)
    << text;
  EXPECT_NE(text.find("corral_h_seconds_bucket{role=\"balancer\",le=\"10\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("corral_h_seconds_bucket{role=\"balancer\",le=\"+Inf\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("corral_h_seconds_sum{role=\"balancer\"} 56\n"), std::string::npos);
  EXPECT_NE(text.find("corral_h_seconds_count{role=\"balancer\"} 3\n"), std::string::npos);
  EXPECT_EQ(count_lines_starting(text, "corral_h_seconds_bucket"), 3u);
}

TEST(exposition, numbers_read_back_exactly) {
  EXPECT_EQ(format_number(1e-06), "1e-06");
  EXPECT_EQ(format_number(0.1), "0.1");
  EXPECT_EQ(format_number(42), "42");
  EXPECT_EQ(format_number(std::numeric_limits<double>::infinity()), "+Inf");
}
