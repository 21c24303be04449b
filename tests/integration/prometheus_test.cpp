// corral under a real Prometheus: promtool accepts the live /metrics, and Debian's
// prometheus server, scraping corral's admin listener every second, reads back through its
// query API the requests sent through the proxy, the actor metrics of every role, and
// evaluates contrib/prometheus' alerting rules on corral's series without an error.
#include "tests/support/docker_env.hpp"
#include "tests/support/harness.hpp"
#include "tests/workload/program.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <unistd.h>

#ifndef CONTRIB_PROMETHEUS_DIR
#  error "CONTRIB_PROMETHEUS_DIR must name contrib/prometheus in the source tree"
#endif

using namespace corral::test;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// Ports 30600-30699: each test's corral takes a block of 20 (test_ports::from_base),
// the Prometheus servers 30690 and up.

/// The first executable `name` on PATH, or "" when there is none.
std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs{path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin"};
  for (std::string dir; std::getline(dirs, dir, ':');) {
    auto candidate = fs::path{dir.empty() ? "." : dir} / name;
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate.string();
  }
  return {};
}

/// Puts the path of `name` into `var`. Without it the test skips, or fails when
/// CORRAL_REQUIRE_DOCKER says a run must not pass by skipping.
#define NEED_PROGRAM(var, name)                                                          \
  auto var = find_on_path(name);                                                         \
  if (var.empty()) {                                                                     \
    if (docker_required())                                                               \
      FAIL() << "CORRAL_REQUIRE_DOCKER is set but " name " is not on PATH (Debian's "    \
                "prometheus package; scripts/test installs it)";                         \
    GTEST_SKIP() << name " is not on PATH (Debian's prometheus package; scripts/test "   \
                         "installs it)";                                                 \
  }

/// The last `n` characters of `text`, for failure messages.
std::string tail(const std::string& text, size_t n = 3000) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

/// The number in one sample of an instant vector: {"metric": {...}, "value": [time, "12"]}.
double sample_value(const json::value& sample) {
  return std::stod(std::string{sample.at("value").as_array().at(1).as_string()});
}

/// One instant query's answer: the result vector, or why there is none.
struct query_answer {
  std::string error; // empty when `result` holds the answer
  json::array result;

  /// The sample values by the value of `label` ("" when a series lacks it).
  std::map<std::string, double> by(const std::string& label) const {
    std::map<std::string, double> values;
    for (auto& sample : result) {
      auto& metric = sample.at("metric").as_object();
      auto* value = metric.if_contains(label);
      values[value != nullptr ? std::string{value->as_string()} : std::string{}] =
        sample_value(sample);
    }
    return values;
  }

  /// The value of a query that yields one sample; nullopt for any other answer.
  std::optional<double> single() const {
    if (result.size() != 1)
      return std::nullopt;
    return sample_value(result.front());
  }
};

/// The values of `label` in an answer's series.
std::set<std::string> labels_of(const query_answer& answer, const std::string& label) {
  std::set<std::string> values;
  for (auto& [value, n] : answer.by(label))
    values.insert(value);
  return values;
}

/// "8000, 8001" for messages.
template <class Range>
std::string joined(const Range& items) {
  std::ostringstream out;
  for (auto& item : items)
    out << (out.tellp() > 0 ? ", " : "") << item;
  return out.str();
}

/// Debian's prometheus server on loopback, in a temporary directory of its own (config
/// and TSDB), scraping one corral's admin listener every second. The destructor stops the
/// server and removes the directory, however the test ended.
class prometheus_server {
public:
  /// `rule_files`: absolute paths of alerting rules to load.
  prometheus_server(std::string binary, uint16_t port, uint16_t corral_admin,
                    const std::vector<std::string>& rule_files = {})
    : binary_(std::move(binary)), port_(port) {
    char dir[] = "/tmp/corral-test-prometheus-XXXXXX";
    if (::mkdtemp(dir) == nullptr)
      return;
    dir_ = dir;
    std::ofstream config{dir_ / "prometheus.yml"};
    config << "global:\n"
              "  scrape_interval: 1s\n"
              "  scrape_timeout: 1s\n"
              "  evaluation_interval: 1s\n";
    if (!rule_files.empty()) {
      config << "rule_files:\n";
      for (auto& file : rule_files)
        config << "  - \"" << file << "\"\n";
    }
    config << "scrape_configs:\n"
              "  - job_name: corral\n"
              "    static_configs:\n"
              "      - targets: [\"127.0.0.1:"
           << corral_admin << "\"]\n";
  }

  ~prometheus_server() {
    if (server_)
      server_->terminate(10s);
    server_.reset();
    if (!dir_.empty()) {
      std::error_code ignored;
      fs::remove_all(dir_, ignored);
    }
  }

  prometheus_server(const prometheus_server&) = delete;
  prometheus_server& operator=(const prometheus_server&) = delete;

  /// Starts the server; true once it answers /-/ready.
  bool start(std::chrono::milliseconds deadline = 30s) {
    if (dir_.empty())
      return false;
    server_ = std::make_unique<program>(std::vector<std::string>{
      binary_,
      "--config.file=" + (dir_ / "prometheus.yml").string(),
      "--storage.tsdb.path=" + (dir_ / "data").string(),
      "--web.listen-address=127.0.0.1:" + std::to_string(port_),
    });
    if (!server_->started())
      return false;
    return wait_until(deadline, [this] {
      return http("GET", url("/-/ready"), {}, {}, 1s).status == 200;
    }, 100ms);
  }

  /// Evaluates `promql` now (GET /api/v1/query).
  query_answer query(const std::string& promql) {
    auto path = "/api/v1/query?query=" + corral::http::percent_encode(promql);
    return vector_of(promql, client_.get(url(path), 5s));
  }

  /// GET `path` parsed as JSON: the `data` member of a successful answer, else null.
  json::value api(const std::string& path) {
    auto answer = client_.get(url(path), 5s);
    boost::system::error_code ec;
    auto doc = json::parse(answer.body, ec);
    if (ec || answer.status != 200 || !doc.is_object() || !doc.as_object().contains("data"))
      return nullptr;
    return doc.at("data");
  }

  /// The scrape target's health and last error as Prometheus reports them, and the
  /// server's log: what a failure message needs.
  std::string diagnostics() {
    std::string text = "Prometheus targets: ";
    auto answer = client_.get(url("/api/v1/targets"), 5s);
    text += answer.status == 200 ? answer.body : "(no answer: " + answer.error + ")";
    text += "\nPrometheus log:\n" + (server_ ? tail(server_->output()) : "(not started)");
    return text;
  }

private:
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  static query_answer vector_of(const std::string& promql, const corral::http::response& answer) {
    query_answer out;
    if (!answer.answered()) {
      out.error = "Prometheus did not answer " + promql + ": " + answer.error;
      return out;
    }
    boost::system::error_code ec;
    auto doc = json::parse(answer.body, ec);
    if (ec || !doc.is_object() || doc.as_object().if_contains("status") == nullptr
        || doc.at("status") != "success" || doc.at("data").at("resultType") != "vector") {
      out.error = "Prometheus answered " + promql + " with " + std::to_string(answer.status)
                  + ": " + answer.body;
      return out;
    }
    out.result = doc.at("data").at("result").as_array();
    return out;
  }

  std::string binary_;
  uint16_t port_;
  fs::path dir_;
  std::unique_ptr<program> server_;
  http_client client_;
};

/// A corral with a pool of three and a Prometheus scraping it; each test starts its own.
class prometheus_scrape : public ::testing::Test {
protected:
  /// Starts corral (its ports from `base`) with three ready containers and Prometheus on
  /// `prometheus_port`, and waits until Prometheus has scraped corral successfully.
  void start(const std::string& pool_prefix, uint16_t base, uint16_t prometheus_port,
             const std::vector<std::string>& rule_files = {}) {
    CORRAL_NEED_DOCKER();
    NEED_PROGRAM(binary, "prometheus");
    ports_ = test_ports::from_base(base);
    auto pool = unique_name(pool_prefix);
    corral_ = std::make_unique<corral_process>(
      pool, test_config(pool, ports_, "min_containers = 3\n"), ports_);
    ASSERT_TRUE(corral_->start()) << corral_->log();
    // Prometheus scrapes its first target only about 5 s after it starts (its service
    // discovery hands targets on at most every 5 s): start it while the pool comes up.
    prometheus_ = std::make_unique<prometheus_server>(binary, prometheus_port, ports_.admin,
                                                      rule_files);
    ASSERT_TRUE(prometheus_->start()) << "prometheus did not become ready on 127.0.0.1:"
                                      << prometheus_port << "\n"
                                      << prometheus_->diagnostics();
    auto p = ports_.pool_start;
    pool_ports_ = {p, uint16_t(p + 1), uint16_t(p + 2)};
    ASSERT_TRUE(corral_->wait_pool(pool_ports_, 30s)) << corral_->log();
    query_answer up;
    ASSERT_TRUE(wait_until(20s, [&] {
      up = prometheus_->query("up{job=\"corral\"}");
      return up.single() == 1.0;
    }, 200ms)) << "Prometheus never scraped corral's /metrics successfully (up = "
               << json::serialize(up.result) << up.error << ")\n"
               << prometheus_->diagnostics();
  }

  /// Polls `promql` until `ok` holds for its answer or `deadline` passed; returns the
  /// last answer either way.
  query_answer poll(const std::string& promql, const std::function<bool(const query_answer&)>& ok,
                    std::chrono::milliseconds deadline = 15s) {
    query_answer last;
    wait_until(deadline, [&] {
      last = prometheus_->query(promql);
      return last.error.empty() && ok(last);
    }, 250ms);
    return last;
  }

  /// Sends the test's `n` requests through corral's proxy (the only ones), then waits until
  /// Prometheus holds a scrape taken after the last answer (corral_proxy_requests_total
  /// there reaches `n`): every counter read in that scrape has counted them.
  void send_and_scrape(int n) {
    http_client client;
    for (int i = 0; i < n; ++i)
      ASSERT_EQ(client.get(ports_.proxy_url("/api/v1/categories")).status, 204) << i;
    auto proxied = poll("corral_proxy_requests_total",
                        [&](auto& a) { return a.single() == n; });
    ASSERT_EQ(proxied.single(), n) << "corral_proxy_requests_total in Prometheus: "
                                   << json::serialize(proxied.result) << proxied.error << "\n"
                                   << prometheus_->diagnostics();
  }

  /// The pool's ports as label values.
  std::set<std::string> pool_port_labels() const {
    std::set<std::string> labels;
    for (auto port : pool_ports_)
      labels.insert(std::to_string(port));
    return labels;
  }

  /// corral_backend_requests_total: one series per backend port, summing to `sent`.
  void expect_backend_requests(int sent) {
    auto handed = prometheus_->query("corral_balancer_handed_out_total");
    EXPECT_EQ(handed.single(), sent) << "corral_balancer_handed_out_total in Prometheus: "
                                     << json::serialize(handed.result) << handed.error;
    // A family wholly absent from a scrape that counted every request is missing, not late.
    auto per_port = poll("corral_backend_requests_total", [&](auto& a) {
      double sum = 0;
      for (auto& [port, n] : a.by("port"))
        sum += n;
      return a.result.empty() || sum == sent;
    }, 5s);
    ASSERT_TRUE(per_port.error.empty()) << per_port.error;
    ASSERT_FALSE(per_port.result.empty())
      << "Prometheus has no corral_backend_requests_total series: corral's /metrics does not "
         "export the per-backend request counter of docs/OBSERVABILITY.md";
    auto total = prometheus_->query("sum(corral_backend_requests_total)");
    EXPECT_EQ(total.single(), sent) << "sum(corral_backend_requests_total) in Prometheus: "
                                    << json::serialize(total.result) << total.error;
    EXPECT_EQ(labels_of(per_port, "port"), pool_port_labels())
      << "corral_backend_requests_total should have one series per backend port: "
      << json::serialize(per_port.result);
  }

  /// corral_actor_messages_total and corral_actor_mailbox_length for every role, and a
  /// mailbox series per container actor labelled with its slot's port.
  void expect_actor_metrics_of_every_role() {
    const std::set<std::string> roles{"supervisor", "balancer", "health_checker", "scaler",
                                      "container"};
    for (std::string metric : {"corral_actor_messages_total", "corral_actor_mailbox_length"}) {
      // A role's series may follow its first message; the whole family absent is missing.
      auto answer = poll("count by (role) (" + metric + ")", [&](auto& a) {
        auto seen = labels_of(a, "role");
        return a.result.empty()
               || std::includes(seen.begin(), seen.end(), roles.begin(), roles.end());
      });
      ASSERT_TRUE(answer.error.empty()) << answer.error;
      auto seen = labels_of(answer, "role");
      std::vector<std::string> missing;
      std::set_difference(roles.begin(), roles.end(), seen.begin(), seen.end(),
                          std::back_inserter(missing));
      EXPECT_TRUE(missing.empty()) << "Prometheus has no " << metric << " series for role(s) "
                                   << joined(missing) << " (roles it has: "
                                   << (seen.empty() ? "none" : joined(seen))
                                   << "): corral's /metrics does not export them as "
                                      "docs/OBSERVABILITY.md, \"Actors\", says";
    }
    auto containers = poll("count by (port) (corral_actor_mailbox_length{role=\"container\"})",
                           [&](auto& a) {
                             return a.result.empty() || a.result.size() == pool_ports_.size();
                           });
    EXPECT_EQ(labels_of(containers, "port"), pool_port_labels())
      << "corral_actor_mailbox_length{role=\"container\"} should have one series per slot, "
         "labelled with its port: "
      << json::serialize(containers.result) << containers.error;
  }

  void TearDown() override {
    // Prometheus first, so that it does not log corral's end as a failed scrape.
    prometheus_.reset();
    if (corral_) {
      EXPECT_EQ(corral_->stop(), 0) << corral_->log();
    }
  }

  test_ports ports_{};
  std::vector<uint16_t> pool_ports_;
  std::unique_ptr<corral_process> corral_;
  std::unique_ptr<prometheus_server> prometheus_;
};

} // namespace

TEST(prometheus, promtool_check_metrics_accepts_corrals_live_metrics) {
  CORRAL_NEED_DOCKER();
  NEED_PROGRAM(promtool, "promtool");
  auto ports = test_ports::from_base(30600);
  auto pool = unique_name("it-prom-lint");
  corral_process corral{pool, test_config(pool, ports, "min_containers = 2\n"), ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  ASSERT_TRUE(corral.wait_pool({ports.pool_start, uint16_t(ports.pool_start + 1)}, 30s))
    << corral.log();
  // Some traffic, so that every family has samples (histogram buckets, per-port series).
  http_client client;
  for (int i = 0; i < 20; ++i)
    ASSERT_EQ(client.get(ports.proxy_url("/api/v1/categories")).status, 204) << i;

  auto metrics = corral.metrics();
  ASSERT_FALSE(metrics.empty()) << "GET /metrics did not answer\n" << corral.log();
  char path[] = "/tmp/corral-test-metrics-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream{path} << metrics;
  // promtool check metrics reads the exposition on stdin.
  auto run = run_program({"/bin/sh", "-c", "exec \"$0\" check metrics < \"$1\"", promtool, path},
                         30s);
  std::remove(path);
  EXPECT_EQ(run.exit_status, 0) << "promtool check metrics complains about corral's /metrics:\n"
                                << run.output << "\n--- the /metrics it read:\n"
                                << metrics;
  EXPECT_EQ(corral.stop(), 0) << corral.log();
}

// The "Done when": requests through the proxy read back through Prometheus, and
// every actor role's metrics there. One test, one Prometheus: each one waits about 5 s for
// its first scrape (see start()).
TEST_F(prometheus_scrape, reads_back_the_requests_sent_and_the_actor_metrics_of_every_role) {
  ASSERT_NO_FATAL_FAILURE(start("it-prom-read", 30620, 30690));
  if (IsSkipped())
    return;
  // The only traffic through the proxy in this test; it also gives the balancer and the
  // scaler messages to handle (the scaler's first window opens at the first request).
  constexpr int sent = 90;
  ASSERT_NO_FATAL_FAILURE(send_and_scrape(sent));
  EXPECT_NO_FATAL_FAILURE(expect_backend_requests(sent));
  EXPECT_NO_FATAL_FAILURE(expect_actor_metrics_of_every_role());
}

TEST_F(prometheus_scrape, alert_rules_evaluate_on_corrals_series_and_stay_quiet_on_a_healthy_pool) {
  ASSERT_NO_FATAL_FAILURE(
    start("it-prom-rules", 30640, 30691, {CONTRIB_PROMETHEUS_DIR "/corral-alerts.yml"}));
  if (IsSkipped())
    return;
  ASSERT_NO_FATAL_FAILURE(send_and_scrape(10));

  // Wait for an evaluation that started after Prometheus held corral's series with traffic
  // in them: errors such as a many-to-many match only show on real series.
  json::array rules;
  std::optional<std::string> first_evaluation;
  auto evaluated = wait_until(15s, [&] {
    auto data = prometheus_->api("/api/v1/rules");
    if (!data.is_object() || data.at("groups").as_array().empty())
      return false;
    auto& group = data.at("groups").as_array().front();
    auto at = std::string{group.at("lastEvaluation").as_string()};
    if (!first_evaluation)
      first_evaluation = at;
    rules = group.at("rules").as_array();
    return at != *first_evaluation;
  }, 250ms);
  ASSERT_TRUE(evaluated) << "Prometheus did not evaluate contrib/prometheus/corral-alerts.yml: "
                         << json::serialize(rules) << "\n"
                         << prometheus_->diagnostics();
  EXPECT_EQ(rules.size(), 6u) << json::serialize(rules);
  for (auto& rule : rules) {
    auto name = std::string{rule.at("name").as_string()};
    EXPECT_EQ(rule.at("health"), "ok")
      << name << " failed to evaluate: " << json::serialize(rule); // lastError says why
    EXPECT_EQ(rule.at("state"), "inactive")
      << name << " is active on a healthy pool of three: " << json::serialize(rule);
  }
}
