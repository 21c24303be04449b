// Timestamped progress lines on stderr, written whole by any of the run's threads.
#pragma once

#include <chrono>
#include <mutex>
#include <ostream>
#include <string>

namespace corral::chaos {

/// The first 12 characters of a container id, as `docker ps` shows it.
inline std::string short_id(const std::string& id) {
  return id.substr(0, 12);
}

/// Progress of one run, each line prefixed with the seconds since the run
/// started, the same clock the report's failure list uses, so that a failed
/// request can be found among the faults around it.
class run_log {
public:
  run_log(std::ostream& out, std::chrono::steady_clock::time_point origin)
    : out_(out), origin_(origin) {}

  /// Milliseconds from the origin to `t` (negative before it).
  double ms_since_origin(std::chrono::steady_clock::time_point t) const {
    return std::chrono::duration<double, std::milli>(t - origin_).count();
  }

  /// Writes "[  12.345 s] <line>" and a newline.
  void say(const std::string& line);

private:
  std::mutex mutex_; // one whole line at a time from several threads
  std::ostream& out_;
  std::chrono::steady_clock::time_point origin_;
};

} // namespace corral::chaos
