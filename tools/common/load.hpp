// A steady GET load for the tools and the integration tests: threads sending
// requests to one URL and counting what came back, by kind of failure.
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

namespace corral::http {

/// One failed load request, kept so that failures can be lined up with what
/// happened around them.
struct failure_event {
  std::chrono::steady_clock::time_point sent;
  std::chrono::steady_clock::time_point ended;
  std::string kind;
  /// libcurl's full message or the first bytes of the error body.
  std::string detail;
};

/// What a load saw.
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
  /// One line, e.g. "1200 sent, 1200 ok" or "... 3 failed: status 502 x3".
  std::string summary() const;
};

/// How a load answer failed: "status <code>" for a non-2xx answer,
/// "no response: <reason>" when none came; nullopt for a 2xx.
std::optional<std::string> failure_kind(const response& answer);

/// What a load_generator sends, from how many threads, how fast.
struct load_options {
  /// Every request GETs this.
  std::string url;
  /// Threads, each on its own keep-alive connection.
  unsigned threads = 1;
  /// Requests per second over all threads, evenly spaced; 0 for no rate.
  double rate = 0;
  /// Without a rate: how long each thread waits after an answer before its
  /// next request; 0 sends the next one at once.
  std::chrono::milliseconds pause{0};
  /// A request without a complete answer after this long fails.
  std::chrono::milliseconds timeout = default_timeout;
};

/// GETs one URL from several threads from start() until stop(), counting
/// each thread's answers apart and adding them up at the end.
class load_generator {
public:
  explicit load_generator(load_options options);
  /// Stops the threads if stop() was not called.
  ~load_generator();
  load_generator(const load_generator&) = delete;
  load_generator& operator=(const load_generator&) = delete;

  /// Starts the threads.
  void start();

  /// Stops and joins the threads and returns what all of them saw.
  load_counts stop();

  /// Requests finished so far, answered or failed, over all threads: what a
  /// test polls to see the load flowing.
  uint64_t finished() const { return finished_.load(std::memory_order_relaxed); }

private:
  void run(unsigned index);

  load_options options_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> finished_{0};
  // One entry per thread, written only by that thread until it is joined:
  // the hot loop shares nothing but the relaxed counter above.
  std::vector<load_counts> counts_;
  std::vector<std::thread> workers_;
};

} // namespace corral::http
