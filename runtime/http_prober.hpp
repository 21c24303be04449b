// The HTTP health prober: async GETs to 127.0.0.1:<port> on one thread of its own.
#pragma once

#include "runtime/prober.hpp"

#include <memory>
#include <string>

namespace corral {

/// A prober that GETs `path` on 127.0.0.1:<port> and passes on a 2xx status.
/// It owns one io_context and the one thread that runs it; every probe is
/// asynchronous on that thread with a single deadline covering connect,
/// request and response head, so any number of probes run at once and a hung
/// container only ever delays its own probe. Only the response head is read.
///
/// Failure reasons: "connection refused", "timeout after <N> ms",
/// "status <code>", "connection closed before a response", "prober stopped",
/// or the system's text for any other socket error.
///
/// Boost.Asio stays out of this header: it is included by actor translation
/// units that are slow enough to compile already.
class http_prober final : public prober {
public:
  /// Starts the prober's thread; probes GET `path` (e.g. "/health").
  explicit http_prober(std::string path = "/");

  /// Stops the thread and joins it. Probes still in flight are cut short and
  /// their `done` runs before this returns, on the prober's thread, with
  /// reason "prober stopped": every callback runs exactly once, also at
  /// shutdown. Must not be called from inside a `done` callback.
  ~http_prober() override;

  http_prober(const http_prober&) = delete;
  http_prober& operator=(const http_prober&) = delete;

  /// Thread-safe; returns at once. See prober::probe.
  void probe(uint16_t port, std::chrono::milliseconds timeout,
             std::function<void(probe_result)> done) override;

private:
  struct state;
  std::unique_ptr<state> state_;
};

} // namespace corral
