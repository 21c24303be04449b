// One-line diagnostics on stderr, shared by the Acts service's parts.
#pragma once

#include <string_view>

namespace acts {

/// Writes "acts: <message>\n" to stderr in one write, so lines from
/// different threads never interleave.
void log_line(std::string_view message);

} // namespace acts
