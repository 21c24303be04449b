// The reverse proxy front end: io threads, listener, graceful shutdown.
#pragma once

#include "proxy/port_source.hpp"
#include "proxy/settings.hpp"
#include "proxy/stats.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace boost::asio {
class io_context;
} // namespace boost::asio

namespace corral {

/// Creates the port source of io thread `index` (0-based), whose io_context
/// is `ioc` and whose counters are `counters`. The app passes
/// make_balancer_client; tests pass fakes.
using port_source_factory = std::function<std::unique_ptr<port_source>(
  boost::asio::io_context& ioc, unsigned index, thread_counters& counters)>;

/// The HTTP/1.1 reverse proxy: `settings.threads` io threads (0: one per
/// core), each with its own single-threaded io_context, port source, backend
/// connection pool and listening socket (SO_REUSEPORT: the kernel spreads
/// new connections over them).
///
/// Lifecycle: start(), later shutdown() (both from a thread that is not one
/// of the proxy's own), then destroy the proxy_server. Destruction frees the
/// io_contexts, so the balancer actor must be gone by then (stop io, then
/// the actors, then destroy the io side: guides/caf-0.17.md §11).
class proxy_server {
public:
  /// Prepares the server; nothing is bound or started yet.
  proxy_server(proxy_settings settings, port_source_factory make_ports);

  proxy_server(const proxy_server&) = delete;
  proxy_server& operator=(const proxy_server&) = delete;

  /// Shuts down if still running.
  ~proxy_server();

  /// Creates the port sources, binds settings.listen (or takes over the
  /// listening sockets `inherited_fds` of a predecessor) with a socket per
  /// io thread (see proxy::listen_group), and starts the io threads. Throws
  /// std::runtime_error when binding fails, with a message like "cannot
  /// listen on 127.0.0.1:8080: address already in use".
  void start(const std::vector<int>& inherited_fds = {});

  /// The listening sockets, to hand over to a successor; none before start().
  std::vector<int> listen_fds() const;

  /// The io threads `settings` ask for: settings.threads, or with 0 one per
  /// core.
  static unsigned thread_count(const proxy_settings& settings);

  /// Applies new settings to every io thread, from each one's next use of
  /// them (timeouts, retries, body limit); listen and threads stay.
  void reconfigure(const proxy_settings& settings);

  /// What becomes of the listening sockets at shutdown().
  enum class listen_sockets {
    /// Closed for good: the connections the kernel queued on them are
    /// accepted and served first, so that the close resets none.
    close,
    /// A successor holds them too (see listen_fds()) and accepts what is
    /// queued: the server only lets go of them.
    handed_over,
  };

  /// Stops gracefully and blocks until done: stops accepting (new
  /// connections are refused), closes idle keep-alive clients, lets requests
  /// in flight finish with `Connection: close` for up to
  /// settings.shutdown_timeout, then closes what is left and joins the io
  /// threads. A connection accepted but still silent gets a second for its
  /// first request. Sessions, port sources and pooled backend connections
  /// die on their own threads. Idempotent.
  void shutdown(listen_sockets sockets = listen_sockets::close);

  /// The bound port (settings.listen.port, or the one the OS picked for 0);
  /// valid after start().
  uint16_t port() const;

  /// The counters summed over all io threads; any thread, once start()
  /// returned (also after shutdown()).
  proxy_stats stats() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace corral
