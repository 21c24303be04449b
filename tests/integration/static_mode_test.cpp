// [pool] runtime = "static": corral fronts loopback backends it does not run.
// Real processes (the http-hello test server) as backends, the real corral
// binary, real HTTP; no Docker anywhere.
#include "tests/acts/child_process.hpp"
#include "tests/support/harness.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <memory>

using namespace corral::test;

namespace {

/// One http-hello process listening on 127.0.0.1:port.
std::unique_ptr<acts_test::child_process> start_backend(uint16_t port) {
  auto backend = std::make_unique<acts_test::child_process>(
    std::vector<std::string>{HELLO_BINARY}, std::vector<std::string>{"PORT=" + std::to_string(port)},
    "/tmp/corral-test-static-backend-" + std::to_string(port) + ".log");
  EXPECT_TRUE(acts_test::eventually([&] { return acts_test::port_accepts(port); }, 5s))
    << "backend on " << port << " did not listen";
  return backend;
}

std::string static_config(const std::string& pool, const test_ports& ports,
                          const std::vector<uint16_t>& backends) {
  std::string list;
  for (auto port : backends)
    list += (list.empty() ? "\"127.0.0.1:" : ", \"127.0.0.1:") + std::to_string(port) + "\"";
  return "[proxy]\nlisten = \"127.0.0.1:" + std::to_string(ports.proxy) + "\"\n"
         + "[admin]\nlisten = \"127.0.0.1:" + std::to_string(ports.admin) + "\"\n"
         + "[pool]\nname = \"" + pool + "\"\nruntime = \"static\"\nbackends = [" + list
         + "]\nrun_dir = \"/tmp\"\n"
         + "[health]\ninterval = \"200ms\"\ntimeout = \"300ms\"\nstart_interval = \"50ms\"\n";
}

double served_by(corral_process& corral, uint16_t port) {
  return metric_value(corral.metrics(), "corral_backend_requests_total{port=\""
                                          + std::to_string(port) + "\"}")
    .value_or(-1);
}

/// Runs `corral --check-config` on `toml`; its exit status and stderr.
std::pair<int, std::string> check_config(const std::string& name, const std::string& toml) {
  auto path = "/tmp/corral-test-static-" + name + ".toml";
  auto err = path + ".err";
  std::ofstream{path} << toml;
  int status = shell(std::string{CORRAL_BINARY_PATH} + " --check-config " + path
                     + " 2>" + err + " >/dev/null");
  std::ifstream in{err};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  std::remove(path.c_str());
  std::remove(err.c_str());
  return {status, text};
}

} // namespace

// Every request goes to the next backend in strict order, and nothing is
// started: corral only probes and balances.
TEST(static_mode, balances_over_the_listed_backends_in_strict_round_robin) {
  auto ports = test_ports::from_base(32200);
  std::vector<uint16_t> backends{32210, 32211, 32212};
  std::vector<std::unique_ptr<acts_test::child_process>> servers;
  for (auto port : backends)
    servers.push_back(start_backend(port));
  corral_process corral{"static-rr", static_config("static-rr", ports, backends), ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  ASSERT_TRUE(wait_until(10s, [&] { return corral.ready_ports() == backends; })) << corral.log();
  EXPECT_NE(corral.log().find("running a static pool"), std::string::npos) << corral.log();

  http_client client;
  for (int i = 0; i < 300; ++i) {
    auto answer = client.get(ports.proxy_url("/"));
    ASSERT_EQ(answer.status, 200) << answer.error;
    ASSERT_EQ(answer.body, "http-hello\n");
  }
  for (auto port : backends)
    EXPECT_EQ(served_by(corral, port), 100) << "port " << port << "\n" << corral.metrics();
  EXPECT_EQ(corral.stop(), 0) << corral.log();
  // The backends were never corral's: they still serve after it stopped.
  for (auto port : backends)
    EXPECT_TRUE(acts_test::port_accepts(port)) << port;
}

// A backend that dies leaves the rotation without failing a request (GETs
// are retried on another backend), and comes back once it passes again.
TEST(static_mode, a_backend_that_goes_away_leaves_the_rotation_and_comes_back) {
  auto ports = test_ports::from_base(32220);
  std::vector<uint16_t> backends{32230, 32231, 32232};
  std::vector<std::unique_ptr<acts_test::child_process>> servers;
  for (auto port : backends)
    servers.push_back(start_backend(port));
  corral_process corral{"static-away", static_config("static-away", ports, backends), ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  ASSERT_TRUE(wait_until(10s, [&] { return corral.ready_ports() == backends; })) << corral.log();

  load_generator load{ports.proxy_url("/"), 2, 2ms};
  servers[1]->signal(SIGKILL);
  std::vector<uint16_t> without{32230, 32232};
  EXPECT_TRUE(wait_until(5s, [&] { return corral.ready_ports() == without; })) << corral.log();
  auto before = served_by(corral, 32231);

  servers[1] = start_backend(32231);
  EXPECT_TRUE(wait_until(5s, [&] { return corral.ready_ports() == backends; })) << corral.log();
  EXPECT_TRUE(wait_until(5s, [&] { return served_by(corral, 32231) > before + 10; }))
    << corral.metrics();
  auto seen = load.stop();
  EXPECT_GT(seen.ok, 20u);
  EXPECT_EQ(seen.failed(), 0u) << seen.summary();
  EXPECT_EQ(corral.stop(), 0) << corral.log();
}

// A backend that is not up when corral starts is probed until it comes up,
// then joins the rotation: corral never gives up on a listed backend.
TEST(static_mode, a_backend_missing_at_start_joins_when_it_comes_up) {
  auto ports = test_ports::from_base(32240);
  std::vector<uint16_t> backends{32250, 32251};
  auto first = start_backend(32250);
  corral_process corral{"static-late", static_config("static-late", ports, backends), ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  ASSERT_TRUE(wait_until(10s, [&] { return corral.ready_ports() == std::vector<uint16_t>{32250}; }))
    << corral.log();
  auto second = start_backend(32251);
  EXPECT_TRUE(wait_until(5s, [&] { return corral.ready_ports() == backends; })) << corral.log();
  EXPECT_EQ(corral.stop(), 0) << corral.log();
}

// Config errors: exit 2 and file:line:column naming [pool] backends.
TEST(static_mode, bad_backend_lists_are_refused_with_their_position) {
  auto base = std::string{"[pool]\nruntime = \"static\"\n"};
  struct bad_case {
    std::string name, toml, says;
  };
  std::vector<bad_case> cases{
    {"empty", base + "backends = []\n", "must name at least one backend"},
    {"missing", base, "needs [pool] backends"},
    {"typo", base + "backends = [\"127.0.0.1:8000\", \"172.0.0.1:8001\"]\n",
     "is not a loopback backend"},
    {"noport", base + "backends = [\"127.0.0.1\"]\n", "is not a loopback backend"},
    {"duplicate", base + "backends = [\"127.0.0.1:8000\", \"localhost:8000\"]\n", "listed twice"},
    {"docker", "[pool]\nbackends = [\"127.0.0.1:8000\"]\n", "are for runtime = \"static\""},
    {"itself", base + "backends = [\"127.0.0.1:8080\"]\n", "the proxy's own listen port"},
    {"runtime", "[pool]\nruntime = \"kubernetes\"\n", "must be \"docker\" or \"static\""},
  };
  for (auto& c : cases) {
    auto [status, text] = check_config(c.name, c.toml);
    EXPECT_EQ(status, 2) << c.name << ": " << text;
    EXPECT_NE(text.find(c.says), std::string::npos) << c.name << ": " << text;
    EXPECT_NE(text.find(".toml:"), std::string::npos) << c.name << ": " << text;
  }
  // The typo is reported at the element that is wrong: line 3, column 31.
  auto [where_status, text] = check_config(
    "where", base + "backends = [\"127.0.0.1:8000\", \"172.0.0.1:8001\"]\n");
  EXPECT_EQ(where_status, 2);
  EXPECT_NE(text.find(".toml:3:31: [pool] backends"), std::string::npos) << text;
}
