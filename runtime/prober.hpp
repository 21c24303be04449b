// The health probe contract: one asynchronous HTTP GET with its own timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace corral {

/// The outcome of one health probe.
struct probe_result {
  /// True for a 2xx answer within the timeout.
  bool passed = false;
  /// HTTP status, 0 when no answer arrived.
  int status = 0;
  /// Why it failed ("connection refused", "timeout after 500 ms", "status 500").
  std::string reason;
};

/// Probes containers' health endpoints. Probes run concurrently: a hung
/// container delays only its own probe, never the caller or other probes.
class prober {
public:
  virtual ~prober() = default;

  /// Starts a GET of the health path on 127.0.0.1:`port`. Calls `done` exactly
  /// once, on the prober's own thread (never inline), at the latest when
  /// `timeout` has passed.
  virtual void probe(uint16_t port, std::chrono::milliseconds timeout,
                     std::function<void(probe_result)> done) = 0;
};

} // namespace corral
