// The result of a chaos run as plain data, and its renderings: the table
// people read and the JSON line scripts read. Pure functions, no clocks.
#pragma once

#include "tools/chaos/fault_tracker.hpp"
#include "tools/chaos/stats.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace corral::chaos {

/// One fault, its times relative to the start of the run.
struct fault_record {
  fault_kind kind = fault_kind::kill;
  uint16_t port = 0;
  /// When it was injected, ms after the run started.
  double at_ms = 0;
  std::optional<double> detection_ms;
  std::optional<double> replacement_ms;
  /// The slot's states between detection and replacement, with the ms spent
  /// in each (see fault::phases_ms).
  std::vector<std::pair<std::string, double>> phases_ms = {};
};

/// One failed request, its times relative to the start of the run.
struct failure_record {
  double sent_ms = 0;
  double ended_ms = 0;
  std::string kind;
  std::string detail;
};

/// The pool as found after the run.
struct pool_check {
  /// False when /status did not answer at the end.
  bool answered = false;
  uint32_t desired = 0;
  std::size_t slots = 0;
  std::size_t ready = 0;
  /// Slots whose container answered GET <health path> with a 2xx.
  std::size_t healthy = 0;
  /// Containers of the pool running according to Docker; -1 when it did not answer.
  int running = -1;

  /// The pool has its desired size, every slot is ready and healthy, and
  /// Docker runs exactly that many containers of it.
  bool whole_and_healthy() const;
};

/// Everything one run measured.
struct chaos_report {
  std::string pool;
  std::string proxy;
  std::string load_path;
  /// What each container had to answer at the end.
  std::string health_path;
  unsigned load_threads = 0;
  /// Requests per second asked for; 0: as fast as possible.
  double load_rate = 0;
  uint64_t seed = 0;
  std::chrono::milliseconds kill_every{0};
  std::chrono::milliseconds crash_every{0};
  std::chrono::milliseconds poll_every{0};
  /// How long faults were injected (shorter than asked when interrupted).
  double injecting_ms = 0;
  /// From the end of injecting until the pool was whole with every fault
  /// repaired, or until the settle bound ran out.
  double settling_ms = 0;
  /// Whether the run was cut short by SIGINT or SIGTERM.
  bool interrupted = false;

  std::vector<fault_record> faults;
  /// Injections given up: no ready slot free of an unrepaired fault.
  uint64_t skipped = 0;
  /// Injections that failed (the engine refused the kill, the crash POST failed).
  std::vector<std::string> injection_errors;

  uint64_t sent = 0;
  uint64_t ok = 0;
  std::map<std::string, uint64_t> failures;
  /// The first failed requests, ordered by when they were sent.
  std::vector<failure_record> failure_log;

  /// corral's proxy counters from the start of the load to the end of the run.
  std::optional<proxy_counters> proxy_delta;

  /// Round trips of corral's /status during the run, in ms.
  std::optional<spread> status_round_trip;
  /// Polls of /status that got no usable answer.
  uint64_t status_poll_errors = 0;

  pool_check end;

  /// Failed load requests. Every load request is a GET, so each of them is
  /// a failed idempotent request, what the benchmark counts.
  uint64_t failed() const;
  /// Faults of `kind` injected.
  std::size_t count(fault_kind kind) const;
  /// Faults whose replacement was never seen ready.
  std::size_t unrepaired() const;
};

/// Detection and replacement times of the faults of `kind`.
struct fault_timings {
  std::optional<spread> detection;
  std::optional<spread> replacement;
};

/// Summarizes the times of the faults of `kind`.
fault_timings timings(const chaos_report& report, fault_kind kind);

/// Where the time from detection to replacement went: for each slot state
/// seen on the way, in the order first met, the spread over the repaired
/// faults of `kind` of the ms each spent in it (summed when seen twice).
std::vector<std::pair<std::string, spread>> phase_timings(const chaos_report& report,
                                                          fault_kind kind);

/// A clean run: no failed request, no failed injection, every fault
/// repaired, and the pool whole and healthy at the end.
bool is_clean(const chaos_report& report);

/// The process's exit status for a run: 0 for a clean run that went the
/// whole duration, 1 otherwise (an interrupted run proves less than asked).
int exit_status(const chaos_report& report);

/// The table people read: Markdown pipe tables, so it pastes into docs as is.
std::string render_table(const chaos_report& report);

/// The same result as one line of JSON (no trailing newline).
std::string render_json(const chaos_report& report);

} // namespace corral::chaos
