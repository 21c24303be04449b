// Starting and stopping the real acts and acts-load executables from tests, with deadlines instead of sleeps.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace acts_test {

using namespace std::chrono_literals;

/// A loopback port nobody listens on right now (the kernel's pick).
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

/// Whether something accepts TCP connections on 127.0.0.1:port.
inline bool port_accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

/// Polls `condition` every few milliseconds until it holds or `timeout` passes.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

/// A child process with its stdout and stderr in one log file; killed (if
/// still running) and reaped on destruction.
class child_process {
public:
  /// Starts `argv[0]` with `argv` and the extra environment `env` ("NAME=value").
  child_process(const std::vector<std::string>& argv, const std::vector<std::string>& env, std::string log_path)
    : log_path_{std::move(log_path)} {
    auto parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0)
      throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      // Dies with the test (a crash, a timeout), not holding its port on.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent)
        ::_exit(127);
      int log = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(log, STDOUT_FILENO);
      ::dup2(log, STDERR_FILENO);
      for (const auto& variable : env)
        ::putenv(const_cast<char*>(variable.c_str()));
      std::vector<char*> args;
      for (const auto& arg : argv)
        args.push_back(const_cast<char*>(arg.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~child_process() {
    if (!status_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// Sends a signal.
  void signal(int number) { ::kill(pid_, number); }

  /// Whether the process has not exited yet.
  bool running() { return !reap(false); }

  /// The exit status once the process exits within `timeout` (-1 when it
  /// was killed by a signal), or nothing when it is still running.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    if (!eventually([&] { return reap(false); }, timeout))
      return std::nullopt;
    return status_;
  }

  /// Everything the process wrote so far.
  std::string output() const {
    std::ifstream in{log_path_};
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

private:
  bool reap(bool block) {
    if (status_)
      return true;
    int raw = 0;
    if (::waitpid(pid_, &raw, block ? 0 : WNOHANG) != pid_)
      return false;
    status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    return true;
  }

  std::string log_path_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

/// The acts service on a free loopback port with its own database.
class acts_server {
public:
  /// Starts the binary and waits until its port accepts connections.
  acts_server(const std::string& db_path, const std::string& log_path)
    : port_{free_port()},
      process_{{ACTS_BINARY}, {"PORT=" + std::to_string(port_), "ACTS_DB=" + db_path}, log_path} {
    if (!eventually([&] { return port_accepts(port_) || !process_.running(); }, 10s) || !process_.running())
      throw std::runtime_error("acts did not start listening: " + process_.output());
  }

  int port() const { return port_; }
  child_process& process() { return process_; }

private:
  int port_;
  child_process process_;
};

} // namespace acts_test
