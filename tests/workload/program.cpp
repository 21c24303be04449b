// Child programs with deadlines (see program.hpp).
#include "tests/workload/program.hpp"

#include "tests/support/harness.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace corral::test {

program::program(std::vector<std::string> argv) : argv_(std::move(argv)) {
  // A file rather than a pipe: nobody has to drain it while the program runs,
  // so a chatty program can never block on a full pipe.
  char path[] = "/tmp/corral-program-XXXXXX";
  int fd = ::mkstemp(path);
  if (fd < 0)
    return;
  output_path_ = path;
  std::vector<char*> args;
  for (auto& arg : argv_)
    args.push_back(arg.data());
  args.push_back(nullptr);
  auto parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    // Dies with the test (a crash, a timeout): SIGTERM, so a corral among
    // these programs removes its pool as on any stop.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent)
      std::_Exit(127);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::close(fd);
    ::execv(args[0], args.data());
    std::_Exit(127);
  }
  ::close(fd);
}

program::~program() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGKILL);
    reap(true);
  }
  if (!output_path_.empty())
    std::remove(output_path_.c_str());
}

bool program::reap(bool block) {
  if (exited_)
    return true;
  int status = 0;
  auto rc = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (rc != pid_)
    return false;
  exited_ = true;
  exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return true;
}

int program::wait(std::chrono::milliseconds deadline) {
  if (pid_ <= 0)
    return -1;
  if (!exited_ && !wait_until(deadline, [this] { return reap(false); }, 20ms)) {
    ::kill(pid_, SIGKILL);
    reap(true);
    killed_ = true;
  }
  return killed_ ? -1 : exit_status_;
}

int program::terminate(std::chrono::milliseconds grace) {
  if (pid_ <= 0)
    return -1;
  if (!exited_)
    ::kill(pid_, SIGTERM);
  return wait(grace);
}

std::string program::output() const {
  std::ifstream in{output_path_};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string program::command() const {
  std::string line;
  for (auto& arg : argv_)
    line += (line.empty() ? "" : " ") + arg;
  return line;
}

program_result run_program(std::vector<std::string> argv, std::chrono::milliseconds deadline) {
  program child{std::move(argv)};
  program_result result;
  result.exit_status = child.wait(deadline);
  result.output = child.output();
  return result;
}

} // namespace corral::test
