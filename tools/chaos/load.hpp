// The steady load: threads sending GETs through corral's proxy and counting
// what came back, by kind of failure.
#pragma once

#include "tools/common/http_client.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace corral::chaos {

/// One failed load request, kept so failures can be lined up with faults.
struct failure_event {
  std::chrono::steady_clock::time_point sent;
  std::chrono::steady_clock::time_point ended;
  std::string kind;
  /// libcurl's full message or the first bytes of the error body.
  std::string detail;
};

/// What the load saw.
struct load_counts {
  uint64_t sent = 0;
  uint64_t ok = 0;
  /// Failed requests by kind: "status 502", "no response: Timeout was reached", ...
  std::map<std::string, uint64_t> failures;
  /// The first failures in detail (at most load_counts::kept_events per thread).
  std::vector<failure_event> events;

  static constexpr std::size_t kept_events = 200;

  uint64_t failed() const;
  /// Adds another thread's counts to these.
  void merge(const load_counts& other);
};

/// How a load answer failed: "status <code>" for a non-2xx answer,
/// "no response: <reason>" when none came; nullopt for a 2xx.
std::optional<std::string> failure_kind(const http::response& answer);

/// GETs `url` from `threads` threads, each on its own keep-alive connection,
/// from start() until stop(). With `rate` > 0 the threads together send that
/// many requests per second, evenly spaced; with 0 each sends the next
/// request as soon as the last one was answered.
class load_generator {
public:
  load_generator(std::string url, unsigned threads, double rate,
                 std::chrono::milliseconds timeout);
  /// Stops the threads if stop() was not called.
  ~load_generator();
  load_generator(const load_generator&) = delete;
  load_generator& operator=(const load_generator&) = delete;

  /// Starts the threads.
  void start();

  /// Stops and joins the threads and returns what all of them saw.
  load_counts stop();

  /// Requests answered or failed so far, over all threads.
  uint64_t finished() const { return finished_.load(std::memory_order_relaxed); }

  /// Failed requests so far, over all threads.
  uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }

private:
  void run(unsigned index);

  std::string url_;
  unsigned threads_;
  double rate_;
  std::chrono::milliseconds timeout_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> finished_{0};
  std::atomic<uint64_t> failed_{0};
  // One entry per thread, written only by that thread until it is joined:
  // the hot loop shares nothing but the two relaxed counters above.
  std::vector<load_counts> counts_;
  std::vector<std::thread> workers_;
};

} // namespace corral::chaos
