// The corral binary's command line and signals, as a user meets them:
// --help, --version, --check-config (exit 0 and 2), a usage error, then
// SIGINT ending a pool's run cleanly and a second signal ending it at once.
// The first ones need no daemon; the signal tests run a pool of their own
// on ports 31100-31199.
#include "tests/support/docker_env.hpp"
#include "tests/support/harness.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <regex>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CORRAL_BINARY
#  error "CORRAL_BINARY must name the corral executable"
#endif

using namespace corral::test;

namespace {

/// What one run of corral printed, and how it ended.
struct run_result {
  int status = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in{path};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Runs corral with `args` to its end (within 30 s, or it is killed and the
/// status is -1); stdout and stderr apart.
run_result run_corral(const std::vector<std::string>& args) {
  auto stem = "/tmp/" + unique_name("cli-run");
  auto out_path = stem + ".out";
  auto err_path = stem + ".err";
  std::vector<std::string> argv_text{CORRAL_BINARY};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_text)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  auto pid = ::fork();
  if (pid == 0) {
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    ::close_range(3, ~0U, 0);
    ::execv(CORRAL_BINARY, argv.data());
    std::_Exit(127);
  }
  run_result result;
  int status = 0;
  bool ended = wait_until(30s, [&] { return ::waitpid(pid, &status, WNOHANG) == pid; });
  if (!ended) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  } else if (WIFEXITED(status)) {
    result.status = WEXITSTATUS(status);
  }
  result.out = slurp(out_path);
  result.err = slurp(err_path);
  std::remove(out_path.c_str());
  std::remove(err_path.c_str());
  return result;
}

/// Writes `toml` to a fresh file; returns its path.
std::string config_file(const std::string& toml) {
  auto path = "/tmp/" + unique_name("cli-config") + ".toml";
  std::ofstream{path} << toml;
  return path;
}

size_t line_count(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

/// A pool of http-hello containers (no Acts needed to test signals).
std::string hello_config(const std::string& pool, const test_ports& ports,
                         const std::string& pool_extra = {}) {
  auto toml = test_config(pool, ports, pool_extra, "[health]\npath = \"/\"\n");
  toml.replace(toml.find("acts:latest"), 11, "corral-test-http-hello:latest");
  return toml;
}

} // namespace

// -- no daemon needed --------------------------------------------------------------------

TEST(cli, help_prints_the_usage_on_stdout_and_exits_0) {
  for (auto flag : {"--help", "-h"}) {
    auto run = run_corral({flag});
    EXPECT_EQ(run.status, 0) << flag << ": " << run.err;
    EXPECT_EQ(run.out.rfind("usage: corral", 0), 0u) << run.out;
    EXPECT_NE(run.out.find("--check-config FILE"), std::string::npos) << run.out;
    EXPECT_TRUE(run.err.empty()) << run.err;
  }
}

TEST(cli, version_prints_one_line_and_exits_0) {
  auto run = run_corral({"--version"});
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_TRUE(std::regex_match(run.out, std::regex{"corral [0-9]+\\.[0-9]+\\.[0-9]+\n"}))
    << run.out;
  EXPECT_TRUE(run.err.empty()) << run.err;
}

TEST(cli, check_config_of_a_valid_file_says_so_and_exits_0) {
  auto ports = test_ports::from_base(31100);
  auto path = config_file(test_config("cli-valid", ports, "min_containers = 2\n"));
  auto run = run_corral({"--check-config", path});
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out, path + ": valid\n");
  // Checking starts nothing: no admin endpoint appeared.
  EXPECT_EQ(http("GET", ports.admin_url("/healthz"), {}, {}, 1s).status, 0);
  std::remove(path.c_str());
}

TEST(cli, check_config_of_an_invalid_file_names_the_problem_in_one_line_and_exits_2) {
  auto ports = test_ports::from_base(31100);
  auto path = config_file(test_config("cli-invalid", ports, "min_containers = \"many\"\n"));
  auto run = run_corral({"--check-config=" + path});
  EXPECT_EQ(run.status, 2) << run.out << run.err;
  EXPECT_TRUE(run.out.empty()) << run.out;
  EXPECT_EQ(line_count(run.err), 1u) << run.err;
  EXPECT_NE(run.err.find("min_containers"), std::string::npos) << run.err;
  std::remove(path.c_str());

  auto missing = run_corral({"--check-config", "/nonexistent/corral.toml"});
  EXPECT_EQ(missing.status, 2) << missing.err;
  EXPECT_EQ(line_count(missing.err), 1u) << missing.err;
  EXPECT_NE(missing.err.find("/nonexistent/corral.toml"), std::string::npos) << missing.err;
}

TEST(cli, an_unknown_argument_is_a_usage_error_with_exit_2) {
  auto run = run_corral({"--frobnicate"});
  EXPECT_EQ(run.status, 2);
  EXPECT_EQ(run.err.rfind("corral: unknown argument \"--frobnicate\"\n", 0), 0u) << run.err;
  EXPECT_NE(run.err.find("usage: corral"), std::string::npos) << run.err;
  EXPECT_TRUE(run.out.empty()) << run.out;
}

// -- signals, with a pool ----------------------------------------------------------------

TEST(cli, sigint_stops_corral_cleanly_and_removes_the_pool) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(31120);
  auto pool = unique_name("cli-int");
  corral_process corral{pool, hello_config(pool, ports), ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  ASSERT_TRUE(corral.wait_pool({ports.pool_start}, 20s)) << corral.log();
  corral.signal(SIGINT);
  EXPECT_EQ(corral.wait_exit(30s), 0) << corral.log();
  auto log = corral.log();
  EXPECT_NE(log.find("then removing the pool signal=SIGINT"), std::string::npos) << log;
  EXPECT_TRUE(pool_containers(pool).empty());
}

// The graceful shutdown of this pool takes its whole stop timeout (its
// containers ignore SIGTERM); a second signal must end corral at once.
TEST(cli, a_second_signal_during_the_shutdown_exits_at_once) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(31140);
  auto pool = unique_name("cli-twice");
  auto toml = hello_config(pool, ports, "env = { IGNORE_SIGTERM = \"1\" }\n");
  toml.replace(toml.find("stop_timeout = \"2s\""), 19, "stop_timeout = \"60s\"");
  corral_process corral{pool, toml, ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  ASSERT_TRUE(corral.wait_pool({ports.pool_start}, 20s)) << corral.log();
  corral.signal(SIGTERM);
  // The pool is being stopped: corral waits for `docker stop`, 60 s.
  ASSERT_TRUE(wait_until(20s, [&] {
    return corral.log().find("removing the pool's containers") != std::string::npos;
  })) << corral.log();
  EXPECT_TRUE(corral.running()) << corral.log();
  corral.signal(SIGINT);
  EXPECT_EQ(corral.wait_exit(10s), 130) << corral.log();
  auto log = corral.log();
  EXPECT_NE(log.find("second signal: exiting now"), std::string::npos) << log;
  // The harness removes the containers left behind.
}
