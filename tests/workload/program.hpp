// Child programs for the workload and browser tests: acts-load, the chaos tool
// and node run as real processes with a deadline, their output kept for the report.
#pragma once

#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

namespace corral::test {

/// A program running as a child process, stdout and stderr together in a
/// file of its own. The destructor kills a program still running, so a
/// failing test leaves no process behind.
class program {
public:
  /// Starts `argv[0]` (a path) with the rest as its arguments; the
  /// environment is inherited. Check started() before waiting.
  explicit program(std::vector<std::string> argv);
  ~program();
  program(const program&) = delete;
  program& operator=(const program&) = delete;

  /// False when fork failed; a failed exec shows as exit status 127.
  bool started() const {
    return pid_ > 0;
  }

  /// Waits up to `deadline` for the exit and returns the exit status (128 +
  /// signal when a signal ended it). After the deadline the program is
  /// killed and -1 returned.
  int wait(std::chrono::milliseconds deadline);

  /// Sends SIGTERM, then SIGKILL when it has not exited after `grace`;
  /// returns the exit status as wait() does.
  int terminate(std::chrono::milliseconds grace);

  /// Everything it printed so far.
  std::string output() const;

  /// The command line, for messages.
  std::string command() const;

private:
  bool reap(bool block);

  std::vector<std::string> argv_;
  std::string output_path_;
  pid_t pid_ = -1;
  int exit_status_ = -1;
  bool exited_ = false;
  /// Killed by wait() at its deadline: the exit status says nothing then.
  bool killed_ = false;
};

/// Runs a program to its end (or kills it after `deadline`); returns its
/// exit status (-1 after a kill) and output.
struct program_result {
  int exit_status = -1;
  std::string output;
};
program_result run_program(std::vector<std::string> argv, std::chrono::milliseconds deadline);

} // namespace corral::test
