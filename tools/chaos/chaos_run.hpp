// One chaos run from start to end: check the pool, start the load, inject
// faults for the duration, let the pool settle, stop the load, check the pool.
#pragma once

#include "tools/chaos/options.hpp"
#include "tools/chaos/report.hpp"

#include <atomic>
#include <optional>
#include <string>

namespace corral::chaos {

/// The report of a run that happened, or why it could not start.
struct run_outcome {
  std::optional<chaos_report> report;
  /// Set when there is no report: what the user should fix.
  std::string error;
  /// 1 for a pool or daemon that is not there, 2 for arguments that do not fit it.
  int exit_code = 1;
};

/// Runs the chaos of `options`, writing progress lines to stderr through
/// corral's logger (component `chaos`). Setting `interrupted` ends fault
/// injection early; the run still settles and reports.
run_outcome run_chaos(const chaos_options& options, const std::atomic<bool>& interrupted);

} // namespace corral::chaos
