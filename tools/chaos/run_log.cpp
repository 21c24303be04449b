// Timestamped progress lines (see run_log.hpp).
#include "tools/chaos/run_log.hpp"

#include <cstdio>

namespace corral::chaos {

void run_log::say(const std::string& line) {
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "[%8.3f s] ",
                ms_since_origin(std::chrono::steady_clock::now()) / 1000);
  std::lock_guard<std::mutex> guard{mutex_};
  out_ << stamp << line << '\n' << std::flush;
}

} // namespace corral::chaos
