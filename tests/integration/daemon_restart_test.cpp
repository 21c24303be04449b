// The Docker daemon restarted under a running corral: the events stream
// reconnects, the pool's lost containers are noticed and replaced, and
// corral keeps running. Restarting the daemon disturbs every other Docker
// test, so this suite runs alone (label docker, one lock) and restarts
// dockerd exactly as it found it. It stops and restarts only a dockerd the
// test scripts started themselves (scripts/lib/common.sh, ensure_dockerd):
// never the host's, which systemd may run (`-H fd://`, restarted behind the
// test's back) and whose other containers it would take down.
#include "tests/support/docker_env.hpp"
#include "tests/support/harness.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

using namespace corral::test;

namespace {

/// Where ensure_dockerd (scripts/lib/common.sh), and this test when it
/// relaunches the daemon, send dockerd's output.
constexpr const char* test_dockerd_log = "/var/log/corral-dockerd.log";

/// True when dockerd `pid` writes to the test scripts' log: a daemon they
/// started themselves. systemd's writes to the journal, a hand-started one
/// to a terminal or a file of its own.
bool started_by_test_scripts(pid_t pid) {
  std::error_code ec;
  auto out = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/fd/1", ec);
  return !ec && out == test_dockerd_log;
}

/// The pid of the running dockerd, or -1.
pid_t dockerd_pid() {
  DIR* proc = ::opendir("/proc");
  if (!proc)
    return -1;
  pid_t found = -1;
  while (auto* entry = ::readdir(proc)) {
    auto pid = std::atoi(entry->d_name);
    if (pid <= 0)
      continue;
    std::ifstream comm{std::string{"/proc/"} + entry->d_name + "/comm"};
    std::string name;
    if (std::getline(comm, name) && name == "dockerd") {
      found = pid;
      break;
    }
  }
  ::closedir(proc);
  return found;
}

/// The command line of `pid`, split at its NULs.
std::vector<std::string> command_line(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary};
  std::vector<std::string> args;
  std::string arg;
  while (std::getline(in, arg, '\0'))
    args.push_back(arg);
  return args;
}

/// Starts `args` as a daemon of its own (new session, output appended to the
/// log scripts/lib/common.sh uses), not as a child that dies with the test.
void spawn_detached(const std::vector<std::string>& args) {
  auto child = ::fork();
  if (child == 0) {
    ::setsid();
    if (::fork() != 0)
      std::_Exit(0);
    int log = ::open(test_dockerd_log, O_WRONLY | O_APPEND | O_CREAT, 0644);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, STDIN_FILENO);
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    // The daemon outlives the test: it must not keep what the test holds
    // open. Regression: a `flock` around the test run handed its lock to the
    // restarted dockerd, which then held it for good and every later run
    // waiting for that lock hung.
    ::close_range(3, ~0U, 0);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::_Exit(127);
  }
  ::waitpid(child, nullptr, 0);
}

} // namespace

TEST(daemon_restart, corral_reconnects_and_the_pool_recovers) {
  CORRAL_NEED_DOCKER();
  auto daemon = dockerd_pid();
  if (daemon <= 0) {
    if (docker_required())
      FAIL() << "no dockerd process to restart on this machine";
    GTEST_SKIP() << "dockerd is not a process here";
  }
  if (!started_by_test_scripts(daemon)) {
    // In CI scripts/test starts dockerd itself, so this test must run there.
    if (docker_required())
      FAIL() << "dockerd (pid " << daemon << ") was not started by the test scripts (its "
             << "output does not go to " << test_dockerd_log << "): this test stops and "
             << "restarts dockerd, and does so only to one scripts/test started";
    GTEST_SKIP() << "dockerd (pid " << daemon << ") is the host's, not one the test scripts "
                 << "started: not stopping it";
  }
  auto args = command_line(daemon);
  ASSERT_FALSE(args.empty());

  auto ports = test_ports::from_base(20400);
  auto pool = unique_name("daemon-restart");
  corral_process corral{pool, test_config(pool, ports, "min_containers = 2\n"), ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  uint16_t p = ports.pool_start;
  ASSERT_TRUE(corral.wait_pool({p, uint16_t(p + 1)}, 20s)) << corral.log();
  auto before = corral.slots();

  // Stop the daemon (it takes the pool's containers down with it), then
  // bring it back with the very same command line.
  ASSERT_EQ(::kill(daemon, SIGTERM), 0);
  ASSERT_TRUE(wait_until(30s, [&] { return ::kill(daemon, 0) != 0; }, 50ms))
    << "dockerd did not stop";
  EXPECT_FALSE(docker_available());
  spawn_detached(args);
  ASSERT_TRUE(wait_until(60s, [] { return docker_available(); }, 100ms))
    << "dockerd did not come back";

  // corral lived through it, and the pool is whole again with new containers.
  EXPECT_TRUE(corral.running()) << corral.log();
  EXPECT_TRUE(corral.wait_pool({p, uint16_t(p + 1)}, 30s)) << corral.log();
  auto after = corral.slots();
  ASSERT_EQ(after.size(), 2u);
  for (size_t i = 0; i < 2; ++i)
    EXPECT_NE(after[i].container, before[i].container) << after[i].port;
  EXPECT_EQ(running_names(pool).size(), 2u);
  EXPECT_EQ(http("GET", ports.proxy_url("/api/v1/categories")).status, 204);
  EXPECT_EQ(corral.stop(), 0) << corral.log();
  EXPECT_TRUE(pool_containers(pool).empty());
}
