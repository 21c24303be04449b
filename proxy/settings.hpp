// Plain settings for the proxy front end and the admin endpoint.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace corral {

/// A host:port to listen on.
struct endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
};

/// [proxy]: the HTTP front end.
struct proxy_settings {
  endpoint listen{"127.0.0.1", 8080};
  /// Largest request body passed through; larger ones get 413.
  uint64_t max_body = 16 * 1024 * 1024;
  /// How often a failed attempt moves on to the next backend.
  uint32_t retries = 2;
  /// [proxy] retry_on = "5xx": an idempotent request answered with a 5xx is
  /// retried too (default "connect": only connection failures and resets).
  bool retry_on_5xx = false;
  /// Keep a client's X-Forwarded-For (appending to it) and other forwarding
  /// fields: only when corral sits behind a proxy that sets them.
  bool trust_forwarded = false;
  /// io threads, each with its own io_context, listening socket, backend
  /// pool and balancer link; 0: one per core (proxy_server::thread_count).
  uint32_t threads = 0;
  /// Connecting to a backend.
  std::chrono::milliseconds connect_timeout{1000};
  /// A backend's answer: until its head arrives, and then between any two
  /// reads of its body (a large answer to a slow client is not cut off).
  std::chrono::milliseconds backend_timeout{30000};
  /// A request head's arrival: from a new connection, or from a request's
  /// first byte, to its last header line (slowloris).
  std::chrono::milliseconds header_timeout{10000};
  /// How long a keep-alive connection may wait for its next request.
  std::chrono::milliseconds idle_timeout{60000};
  /// Inactivity while reading a request body or writing an answer to the
  /// client: each read or write must progress within it.
  std::chrono::milliseconds client_timeout{60000};
  /// On shutdown: how long in-flight requests may take to finish.
  std::chrono::milliseconds shutdown_timeout{10000};
  /// Idle keep-alive connections kept per backend port and io thread.
  uint32_t max_idle_per_backend = 64;
  /// Open client connections at most; past it corral stops accepting until
  /// some close. 0: derived from the open-file limit at start.
  uint64_t max_connections = 0;
  /// Request bodies held in memory at once, all connections together; a
  /// request whose body would go past it gets 503 at once.
  uint64_t max_buffered = 256 * 1024 * 1024;
};

/// [admin]: the metrics and status endpoint.
struct admin_settings {
  endpoint listen{"127.0.0.1", 9090};
  /// When set ([admin] token_file), every path but /healthz needs
  /// `Authorization: Bearer <token>`.
  std::string token{};
  /// Open admin connections at most; its own small bound, apart from the
  /// proxy's, so a flood of either never starves the other.
  uint32_t max_connections = 64;
};

} // namespace corral
