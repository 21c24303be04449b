// Accepts client connections and spreads them over the io threads.
#pragma once

#include "proxy/settings.hpp"
#include "proxy/upstream_pool.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "proxy/limits.hpp"

namespace corral::proxy {

class io_thread;

/// Opens a listening socket on `where`, or takes over the listening socket
/// `inherited_fd` (>= 0) a predecessor handed over; throws
/// std::runtime_error with a message like "cannot listen on
/// 127.0.0.1:8080: address already in use".
boost::asio::ip::tcp::acceptor listen_on(boost::asio::io_context& ioc,
                                         const endpoint& where, int inherited_fd = -1);

/// The proxy's listening sockets, one per io thread where the kernel allows
/// (SO_REUSEPORT: it spreads new connections over the group, so each io
/// thread accepts its own and no thread hands sockets to another). Socket k
/// belongs to `contexts[k % contexts.size()]`. Takes over `inherited` (a
/// predecessor's group, all of it: a socket left behind would reset the
/// connections in its queue) first, then adds sockets until every context
/// has one, when those allow it. Before opening a fresh group it checks that
/// nothing else listens on the address: SO_REUSEPORT would otherwise let a
/// second program of the same user share the port silently. Throws like
/// listen_on.
std::vector<boost::asio::ip::tcp::acceptor>
listen_group(const std::vector<boost::asio::io_context*>& contexts, const endpoint& where,
             const std::vector<int>& inherited);

/// Renders "host:port" for messages.
std::string to_string(const endpoint& where);

/// Accepts connections and hands them to its io threads in turn, each
/// accepted socket already bound to its thread's io_context. With one
/// listening socket per io thread (listen_group), each listener has one
/// thread: its own.
class listener : public std::enable_shared_from_this<listener> {
public:
  /// Takes a bound acceptor (see listen_on), the threads to serve on, and
  /// the bound on open connections (shared with the sessions, which leave
  /// it as they close).
  listener(boost::asio::ip::tcp::acceptor&& acceptor,
           std::vector<io_thread*> threads, connection_gate& gate);

  /// Starts accepting.
  void run();

  /// Accepts again after the connection gate stopped it at its bound (any
  /// thread; the gate calls it as a connection closes).
  void resume();

  /// How a stopping listener lets go of its socket.
  enum class stop_mode {
    /// The socket closes for good. Closing a listening socket resets the
    /// connections in its queue, which the kernel has completed and whose
    /// clients may have sent their requests: so first no handshake may
    /// complete any more (a filter drops every packet to the socket), then
    /// the queue is accepted to its end and served, then it closes.
    close,
    /// A successor holds the socket too and accepts what is queued.
    hand_over,
  };

  /// Stops accepting (any thread). Takes effect on the acceptor's thread;
  /// the future is ready once it has, with the queue's connections (see
  /// stop_mode::close) already on their way to their io threads.
  std::future<void> stop(stop_mode mode);

  /// The bound port (useful when the settings asked for port 0).
  uint16_t port() const {
    return port_;
  }

  /// The listening socket's descriptor (to hand over to a successor).
  int native_handle() {
    return acceptor_.native_handle();
  }

private:
  void do_accept();
  void on_accept(boost::system::error_code ec,
                 upstream_pool::socket_type socket);
  /// Takes in what the kernel queued before the socket closes for good.
  void drain_queue();
  /// The io thread for the next connection, in turn.
  io_thread* next_thread();

  boost::asio::ip::tcp::acceptor acceptor_;
  connection_gate& gate_;
  /// Stopped at max_connections; logged once per stop.
  bool at_bound_ = false;
  /// Waits a little after errors such as "too many open files", instead of
  /// spinning on them.
  boost::asio::steady_timer backoff_;
  std::vector<io_thread*> threads_;
  std::size_t next_ = 0;
  io_thread* target_ = nullptr;
  uint16_t port_ = 0;
  bool stopped_ = false;
};

} // namespace corral::proxy
