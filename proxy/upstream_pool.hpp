// Idle keep-alive connections to the backends, per io thread.
#pragma once

#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace corral::proxy {

/// The idle keep-alive connections of one io thread, per backend port
/// (127.0.0.1:<port>). Not thread-safe: it belongs to its io thread, like the
/// sockets it holds. Connections are reused last-in first-out, so a small
/// working set stays warm and surplus ones age out in the backend.
class upstream_pool {
public:
  /// A connection to a backend, bound to the owning io thread's context.
  /// The io_context's own executor type, not any_io_executor: the proxy's
  /// sockets skip the type-erased executor's copies on every operation.
  using socket_type
    = boost::asio::basic_stream_socket<boost::asio::ip::tcp,
                                       boost::asio::io_context::executor_type>;

  /// Keeps at most `max_idle_per_backend` idle connections per port.
  explicit upstream_pool(std::size_t max_idle_per_backend);

  upstream_pool(const upstream_pool&) = delete;
  upstream_pool& operator=(const upstream_pool&) = delete;

  /// Moves an idle connection to `port` into `out` and returns true, or
  /// returns false when there is none. With `verify`, each candidate is
  /// checked with one non-blocking peek first: a connection whose backend
  /// closed it (a container stopped or killed) or that has unexpected bytes
  /// pending is closed instead of reused. Without (idempotent requests, which
  /// may simply be retried when a reused connection turns out dead), the
  /// most recently used connection is taken as it is: one syscall less per
  /// request.
  bool checkout(uint16_t port, socket_type& out, bool verify = true);

  /// Closes every idle connection to `port` (one of them turned out dead:
  /// the others of the same backend likely are too).
  void drop(uint16_t port);

  /// Keeps `socket` for reuse, or closes it when `port` already has its
  /// maximum of idle connections.
  void release(uint16_t port, socket_type&& socket);

  /// Closes idle connections that are no longer usable; returns how many.
  /// Cheap enough to run every few seconds, so a backend that left the
  /// rotation for good does not pin sockets.
  std::size_t sweep();

  /// Closes every idle connection.
  void clear();

  /// Idle connections to `port`.
  std::size_t idle(uint16_t port) const;

  /// True when an idle connection is still usable: the peer has not closed
  /// it and sent nothing unasked.
  static bool usable(socket_type& socket);

private:
  std::size_t max_idle_;
  std::unordered_map<uint16_t, std::vector<socket_type>> idle_;
};

} // namespace corral::proxy
