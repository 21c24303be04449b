// Accepts client connections and spreads them over the io threads.
#include "proxy/listener.hpp"

#include "log/log.hpp"
#include "proxy/io_thread.hpp"
#include "proxy/session.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <linux/filter.h>
#include <sys/socket.h>

namespace corral::proxy {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr auto accept_backoff = std::chrono::milliseconds(50);

[[noreturn]] void throw_listen_error(const endpoint& where,
                                     boost::system::error_code ec) {
  auto reason = ec.message();
  if (!reason.empty())
    reason[0] = static_cast<char>(
      std::tolower(static_cast<unsigned char>(reason[0])));
  throw std::runtime_error("cannot listen on " + to_string(where) + ": "
                           + reason);
}

} // namespace

std::string to_string(const endpoint& where) {
  return where.host + ":" + std::to_string(where.port);
}

namespace {

/// True when `fd` is a socket with SO_REUSEPORT set (more may join it).
bool reuses_port(int fd) {
  int on = 0;
  socklen_t size = sizeof(on);
  return ::getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, &size) == 0 && on != 0;
}

tcp::endpoint resolve(net::io_context& ioc, const endpoint& where) {
  boost::system::error_code ec;
  auto address = net::ip::make_address(where.host, ec);
  if (!ec)
    return tcp::endpoint(address, where.port);
  // A name such as "localhost": startup only, so resolving may block.
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(where.host, std::to_string(where.port), ec);
  if (ec)
    throw_listen_error(where, ec);
  return results.begin()->endpoint();
}

/// Opens, binds and listens; with `reuse_port`, as a member of a group.
tcp::acceptor open_acceptor(net::io_context& ioc, const endpoint& where,
                            const tcp::endpoint& local, bool reuse_port) {
  boost::system::error_code ec;
  tcp::acceptor acceptor(ioc);
  if (acceptor.open(local.protocol(), ec))
    throw_listen_error(where, ec);
  // A restarted proxy must not wait for TIME_WAIT connections to expire.
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (reuse_port) {
    int on = 1;
    if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0)
      throw_listen_error(where, {errno, boost::system::system_category()});
  }
  if (acceptor.bind(local, ec))
    throw_listen_error(where, ec);
  if (acceptor.listen(net::socket_base::max_listen_connections, ec))
    throw_listen_error(where, ec);
  return acceptor;
}

} // namespace

tcp::acceptor listen_on(net::io_context& ioc, const endpoint& where, int inherited_fd) {
  if (inherited_fd >= 0) {
    // Already bound and listening: connections waiting in its queue are
    // served by whoever accepts first, the predecessor or us.
    boost::system::error_code ec;
    tcp::acceptor acceptor(ioc);
    if (acceptor.assign(tcp::v4(), inherited_fd, ec))
      throw_listen_error(where, ec);
    return acceptor;
  }
  return open_acceptor(ioc, where, resolve(ioc, where), false);
}

std::vector<tcp::acceptor> listen_group(const std::vector<net::io_context*>& contexts,
                                        const endpoint& where, const std::vector<int>& inherited) {
  auto context_of = [&](std::size_t k) -> net::io_context& {
    return *contexts[k % contexts.size()];
  };
  std::vector<tcp::acceptor> group;
  for (int fd : inherited)
    group.push_back(listen_on(context_of(group.size()), where, fd));
  tcp::endpoint local;
  if (!group.empty()) {
    // A predecessor's group grows only when its sockets allow it (an older
    // corral's single socket does not: its listener then serves every thread).
    boost::system::error_code ec;
    local = group.front().local_endpoint(ec);
    if (ec || !reuses_port(group.front().native_handle()))
      return group;
  } else {
    local = resolve(context_of(0), where);
    // Nothing else may listen there: a plain socket's bind says so.
    auto probe = open_acceptor(context_of(0), where, local, false);
    boost::system::error_code ec;
    local.port(probe.local_endpoint(ec).port()); // port 0: the one the OS picked
  }
  while (group.size() < contexts.size())
    group.push_back(open_acceptor(context_of(group.size()), where, local, true));
  return group;
}

listener::listener(tcp::acceptor&& acceptor, std::vector<io_thread*> threads,
                   connection_gate& gate)
  : acceptor_(std::move(acceptor)),
    gate_(gate),
    backoff_(acceptor_.get_executor()),
    threads_(std::move(threads)) {
  boost::system::error_code ec;
  port_ = acceptor_.local_endpoint(ec).port();
}

void listener::run() {
  net::post(acceptor_.get_executor(),
            [self = shared_from_this()] { self->do_accept(); });
}

void listener::resume() {
  net::post(acceptor_.get_executor(), [weak = weak_from_this()] {
    if (auto self = weak.lock(); self && self->at_bound_)
      self->do_accept();
  });
}

std::future<void> listener::stop(stop_mode mode) {
  auto done = std::make_shared<std::promise<void>>();
  auto future = done->get_future();
  net::post(acceptor_.get_executor(), [self = shared_from_this(), mode, done] {
    if (!std::exchange(self->stopped_, true)) {
      self->backoff_.cancel();
      if (mode == stop_mode::close)
        self->drain_queue();
      boost::system::error_code ignored;
      self->acceptor_.close(ignored);
    }
    done->set_value();
  });
  return future;
}

void listener::drain_queue() {
  // 1. No handshake completes from here on: a classic BPF program that keeps
  // no byte of any packet. New clients' SYNs are dropped and retried a second
  // later, when the closed socket refuses them; a handshake whose last ACK
  // is dropped now was under way at this very moment (microseconds).
  sock_filter drop_all{BPF_RET | BPF_K, 0, 0, 0};
  sock_fprog program{1, &drop_all};
  if (::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_ATTACH_FILTER, &program,
                   sizeof(program))
      != 0)
    log::warn("proxy", "cannot freeze the listening socket's queue before closing it",
              {{"error", std::strerror(errno)}});
  // 2. The queue is all there will be: accept it to its end, above
  // max_connections if need be (a reset is the only alternative).
  boost::system::error_code ec;
  acceptor_.non_blocking(true, ec);
  uint64_t taken = 0;
  for (;;) {
    auto* thread = next_thread();
    upstream_pool::socket_type socket(thread->context());
    if (acceptor_.accept(socket, ec)) {
      // A client that gave up while queued: the rest may still be there.
      if (ec == net::error::connection_aborted)
        continue;
      break; // would_block: empty (or out of descriptors: nothing to do)
    }
    gate_.enter();
    ++taken;
    net::post(thread->context(), [thread, socket = std::move(socket)]() mutable {
      start_session(*thread, std::move(socket));
    });
  }
  if (taken > 0)
    log::info("proxy", "serving the connections queued when the listener stopped",
              {{"connections", taken}});
}

io_thread* listener::next_thread() {
  auto* thread = threads_[next_];
  next_ = (next_ + 1) % threads_.size();
  return thread;
}

void listener::do_accept() {
  if (stopped_)
    return;
  // At the bound: accept nothing more (the kernel's backlog holds new
  // connections) until a session closes and the gate calls back.
  if (!gate_.try_enter()) {
    if (!std::exchange(at_bound_, true))
      log::warn("proxy", "max_connections reached: not accepting until connections close",
                {{"max_connections", gate_.max()}});
    return;
  }
  if (std::exchange(at_bound_, false))
    log::info("proxy", "accepting again", {{"open", gate_.open()}});
  // Round robin over the threads; the new socket belongs to the target's
  // io_context from the start.
  target_ = next_thread();
  acceptor_.async_accept(
    target_->context().get_executor(),
    [self = shared_from_this()](boost::system::error_code ec,
                                upstream_pool::socket_type socket) {
      self->on_accept(ec, std::move(socket));
    });
}

void listener::on_accept(boost::system::error_code ec,
                         upstream_pool::socket_type socket) {
  if (ec == net::error::operation_aborted || (ec && stopped_)) {
    gate_.leave();
    return;
  }
  if (ec) {
    gate_.leave();
    // Out of descriptors (EMFILE) and the like: wait a little rather than
    // spin on an accept that keeps failing.
    log::warn("proxy", "accept failed", {{"error", ec.message()}});
    backoff_.expires_after(accept_backoff);
    backoff_.async_wait([self = shared_from_this()](boost::system::error_code e) {
      if (!e)
        self->do_accept();
    });
    return;
  }
  // Also when stop() came first: the kernel had handed this connection
  // over already, and it is served like the rest of the queue.
  auto* thread = target_;
  net::post(thread->context(), [thread, socket = std::move(socket)]() mutable {
    start_session(*thread, std::move(socket));
  });
  do_accept();
}

} // namespace corral::proxy
