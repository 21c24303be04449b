// The chaos tool's command line: defaults, durations, and the loopback-only rule.
#include "tools/chaos/options.hpp"

#include <gtest/gtest.h>

using namespace corral::chaos;
using namespace std::chrono_literals;

namespace {

parse_outcome parse(std::vector<std::string_view> args) {
  return parse_command_line(args);
}

chaos_options options_of(std::vector<std::string_view> args) {
  auto outcome = parse(std::move(args));
  if (auto* error = std::get_if<usage_error>(&outcome))
    ADD_FAILURE() << error->message;
  return std::holds_alternative<chaos_options>(outcome) ? std::get<chaos_options>(outcome)
                                                        : chaos_options{};
}

std::string error_of(std::vector<std::string_view> args) {
  auto outcome = parse(std::move(args));
  auto* error = std::get_if<usage_error>(&outcome);
  return error ? error->message : std::string{"(no error)"};
}

} // namespace

// Not the benchmark's shape: bench/chaos.sh passes its own ports, pool and
// --load-rate 400; these are what a bare `chaos` does against corral's
// default ports.
TEST(chaos_options, defaults_kill_every_3s_for_a_minute_under_an_unpaced_load) {
  auto o = options_of({});
  EXPECT_EQ(o.proxy.text(), "127.0.0.1:8080");
  EXPECT_EQ(o.admin.text(), "127.0.0.1:9090");
  EXPECT_EQ(o.pool, "acts");
  EXPECT_EQ(o.duration, 60s);
  EXPECT_EQ(o.kill_every, 3s);
  EXPECT_EQ(o.crash_every, 0ms);
  EXPECT_EQ(o.load_threads, 4u);
  EXPECT_EQ(o.load_path, "/api/v1/categories");
  EXPECT_EQ(o.load_rate, 0);
  EXPECT_EQ(o.poll_every, 10ms);
  EXPECT_FALSE(o.seed.has_value());
  EXPECT_FALSE(o.json);
}

TEST(chaos_options, reads_every_flag_in_both_spellings) {
  auto o = options_of({"--proxy", "127.0.0.1:21000", "--admin=localhost:21001", "--pool",
                       "bench-chaos", "--duration=90s", "--kill-every", "500ms",
                       "--crash-every", "2s", "--load-threads", "8", "--load-path",
                       "/api/v1/acts/count", "--load-rate", "250.5", "--seed", "42",
                       "--settle", "1m", "--poll-every", "5ms", "--request-timeout", "3s",
                       "--health-path", "/healthz", "--docker-socket", "/run/docker.sock",
                       "--json"});
  EXPECT_EQ(o.proxy.url("/x"), "http://127.0.0.1:21000/x");
  EXPECT_EQ(o.admin.text(), "127.0.0.1:21001"); // localhost pinned to IPv4
  EXPECT_EQ(o.pool, "bench-chaos");
  EXPECT_EQ(o.duration, 90s);
  EXPECT_EQ(o.kill_every, 500ms);
  EXPECT_EQ(o.crash_every, 2s);
  EXPECT_EQ(o.load_threads, 8u);
  EXPECT_EQ(o.load_path, "/api/v1/acts/count");
  EXPECT_DOUBLE_EQ(o.load_rate, 250.5);
  EXPECT_EQ(o.seed, 42u);
  EXPECT_EQ(o.settle, 60s);
  EXPECT_EQ(o.poll_every, 5ms);
  EXPECT_EQ(o.request_timeout, 3s);
  EXPECT_EQ(o.health_path, "/healthz");
  EXPECT_EQ(o.docker_socket, "/run/docker.sock");
  EXPECT_TRUE(o.json);
}

TEST(chaos_options, help_wins_over_everything) {
  EXPECT_TRUE(std::holds_alternative<show_help>(parse({"--pool", "x", "--help"})));
  EXPECT_TRUE(std::holds_alternative<show_help>(parse({"-h"})));
}

TEST(chaos_options, refuses_addresses_off_loopback) {
  for (auto bad : {"172.17.0.2:8080", "10.0.0.1:8080", "192.168.1.1:80", "example.com:80",
                   "0.0.0.0:8080", "128.0.0.1:80"}) {
    auto message = error_of({"--proxy", bad});
    EXPECT_NE(message.find("loopback only"), std::string::npos) << bad << ": " << message;
    EXPECT_NE(error_of({"--admin", bad}).find("loopback only"), std::string::npos) << bad;
  }
}

TEST(chaos_options, explains_bad_values) {
  EXPECT_NE(error_of({"--duration", "60"}).find("a duration like 3s"), std::string::npos);
  EXPECT_NE(error_of({"--duration", "0s"}).find("longer than 0"), std::string::npos);
  EXPECT_NE(error_of({"--load-threads", "0"}).find("1 to 256"), std::string::npos);
  EXPECT_NE(error_of({"--load-rate", "-1"}).find("--load-rate"), std::string::npos);
  EXPECT_NE(error_of({"--load-path", "api"}).find("start with /"), std::string::npos);
  EXPECT_NE(error_of({"--seed", "x"}).find("--seed"), std::string::npos);
  EXPECT_NE(error_of({"--frobnicate", "1"}).find("unknown option --frobnicate"),
            std::string::npos);
  EXPECT_NE(error_of({"--pool"}).find("missing value for --pool"), std::string::npos);
}

TEST(chaos_options, refuses_a_run_without_faults) {
  EXPECT_NE(error_of({"--kill-every", "0"}).find("nothing to do"), std::string::npos);
  auto crash_only = options_of({"--kill-every", "0", "--crash-every", "1s"});
  EXPECT_EQ(crash_only.kill_every, 0ms);
  EXPECT_EQ(crash_only.crash_every, 1s);
}
