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
  /// io threads, each with its own io_context, backend pool and balancer link.
  uint32_t threads = 1;
  /// Connecting to a backend.
  std::chrono::milliseconds connect_timeout{1000};
  /// A backend's whole answer (time to headers and body).
  std::chrono::milliseconds backend_timeout{30000};
  /// Reading a client's request, and how long an idle keep-alive client stays.
  std::chrono::milliseconds client_timeout{60000};
  /// On shutdown: how long in-flight requests may take to finish.
  std::chrono::milliseconds shutdown_timeout{10000};
  /// Idle keep-alive connections kept per backend port and io thread.
  uint32_t max_idle_per_backend = 64;
  /// Open client connections at most; past it corral stops accepting until
  /// some close. 0: derived from the open-file limit at start.
  uint64_t max_connections = 0;
};

/// [admin]: the metrics and status endpoint.
struct admin_settings {
  endpoint listen{"127.0.0.1", 9090};
};

} // namespace corral
