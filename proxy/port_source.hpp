// How one io thread gets backend ports: a plain interface, no CAF, no Asio.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

namespace corral {

/// Something waiting for a backend port (a proxy session). Implementations
/// are kept alive by the port_source until they are answered.
class port_waiter {
public:
  virtual ~port_waiter() = default;

  /// Receives the port to forward to, or nullopt when no backend is ready or
  /// the balancer is gone (the session answers 503). Called exactly once, on
  /// the io thread of the port_source, never from within async_next_port.
  virtual void on_port(std::optional<uint16_t> port) = 0;
};

/// The per-io-thread source of backend ports. All members are called on the
/// io thread that owns the source, and its answers arrive there too, so no
/// implementation needs a lock. Every port handed out must come back exactly
/// once, through finished() or failed(): the balancer counts requests in
/// flight per backend from these reports.
///
/// The per-request path allocates nothing: a waiter is passed as the
/// shared_ptr its owner already has, and implementations queue it in storage
/// they reuse.
class port_source {
public:
  virtual ~port_source() = default;

  /// Asks for the next backend port for `waiter`, answered later through
  /// `waiter->on_port`. `retry` marks another attempt of a request that
  /// already failed once: it is not counted as fresh traffic for scaling.
  virtual void async_next_port(std::shared_ptr<port_waiter> waiter,
                               bool retry)
    = 0;

  /// Reports that a request sent to `port` is done: answered (not with a
  /// 5xx), timed out, or abandoned by its client.
  virtual void finished(uint16_t port) = 0;

  /// Reports that `port` could not take a request (refused, reset before any
  /// response): the balancer drops it from the rotation at once.
  virtual void failed(uint16_t port) = 0;

  /// Reports that a request sent to `port` is done, but badly: the backend
  /// answered with a 5xx, or its answer broke off. Settled like finished();
  /// enough of these in a row take the port out (passive checking).
  virtual void bad(uint16_t port) = 0;
};

} // namespace corral
