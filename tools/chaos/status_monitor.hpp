// The thread that reads corral's /status every few milliseconds and matches
// each answer against the open faults.
#pragma once

#include "tools/chaos/fault_tracker.hpp"
#include "tools/chaos/run_clock.hpp"
#include "tools/chaos/stats.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace corral::chaos {

/// Polls GET /status on its own thread and owns the fault tracker; the other
/// threads see both only through these calls.
class status_monitor {
public:
  /// Polls `status_url` every `every` once started; progress lines carry
  /// the time on `clock`.
  status_monitor(std::string status_url, std::chrono::milliseconds every, const run_clock& clock);
  /// Stops the thread if stop() was not called.
  ~status_monitor();
  status_monitor(const status_monitor&) = delete;
  status_monitor& operator=(const status_monitor&) = delete;

  void start();
  void stop();

  /// The most recent parsed /status; nullopt before the first one.
  std::optional<pool_view> latest() const;

  /// See fault_tracker::open.
  uint64_t open(fault_kind kind, uint16_t port, std::string container,
                clock::time_point injected);
  /// See fault_tracker::cancel.
  void cancel(uint64_t id);
  /// Ports with an unrepaired fault.
  std::set<uint16_t> busy_ports() const;
  /// Every fault so far.
  std::vector<fault> faults() const;

  /// Waits until the pool is whole (see pool_view::whole) and, when
  /// `repaired` is set, every fault is repaired; false at `deadline` or
  /// when `give_up` returns true.
  bool wait_settled(bool repaired, clock::time_point deadline,
                    const std::function<bool()>& give_up = {});

  /// Round trips of /status so far, in ms.
  std::optional<spread> round_trips() const;
  /// Polls that got no usable answer.
  uint64_t poll_errors() const { return poll_errors_.load(); }

private:
  void run();
  void report(const std::vector<fault_progress>& progress, const pool_view& view);

  std::string url_;
  std::chrono::milliseconds every_;
  const run_clock& clock_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> poll_errors_{0};
  std::thread thread_;

  mutable std::mutex mutex_; // guards everything below
  std::condition_variable changed_;
  std::optional<pool_view> latest_;
  fault_tracker tracker_;
  std::vector<double> round_trips_ms_;
};

} // namespace corral::chaos
