// One-line diagnostics on stderr (see log.hpp).
#include "workloads/acts/log.hpp"

#include <cerrno>
#include <string>

#include <unistd.h>

namespace acts {

void log_line(std::string_view message) {
  std::string line = "acts: ";
  line += message;
  line += '\n';
  // Best effort: there is nowhere to report a failing stderr.
  std::size_t written = 0;
  while (written < line.size()) {
    auto n = ::write(STDERR_FILENO, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    written += static_cast<std::size_t>(n);
  }
}

} // namespace acts
