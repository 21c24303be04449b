// The health probe contract: one asynchronous HTTP GET with its own timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace corral {

/// What kind of answer a probe got (corral_probes_total's `result`).
enum class probe_outcome : uint8_t {
  /// A 2xx answer within the timeout.
  ok,
  /// An answer, but not 2xx.
  failed_status,
  /// No answer within the timeout.
  timeout,
  /// The connection was refused, reset or closed before an answer.
  connect_error,
  /// Something answered, but not with HTTP.
  protocol_error,
  /// corral itself could not probe (out of file descriptors, say): says
  /// nothing about the container, and never counts against it.
  local_error,
  /// The prober stopped before the probe ended (shutdown).
  aborted,
};

/// Outcomes that a metric or a page lists, in this order.
inline constexpr probe_outcome probe_outcomes[] = {
  probe_outcome::ok,           probe_outcome::failed_status,  probe_outcome::timeout,
  probe_outcome::connect_error, probe_outcome::protocol_error, probe_outcome::local_error,
  probe_outcome::aborted};

/// "ok", "failed_status", "timeout", "connect_error", "protocol_error",
/// "local_error", "aborted".
constexpr const char* to_string(probe_outcome outcome) {
  switch (outcome) {
    case probe_outcome::ok:
      return "ok";
    case probe_outcome::failed_status:
      return "failed_status";
    case probe_outcome::timeout:
      return "timeout";
    case probe_outcome::connect_error:
      return "connect_error";
    case probe_outcome::protocol_error:
      return "protocol_error";
    case probe_outcome::local_error:
      return "local_error";
    case probe_outcome::aborted:
      return "aborted";
  }
  return "aborted";
}

/// The outcome of one health probe.
struct probe_result {
  /// True for a 2xx answer within the timeout.
  bool passed = false;
  probe_outcome outcome = probe_outcome::aborted;
  /// HTTP status, 0 when no answer arrived.
  int status = 0;
  /// From the probe's start to its result.
  std::chrono::nanoseconds latency{0};
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
