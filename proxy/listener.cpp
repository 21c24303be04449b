// Accepts client connections and spreads them over the io threads.
#include "proxy/listener.hpp"

#include "log/log.hpp"
#include "proxy/io_thread.hpp"
#include "proxy/session.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>

#include <cctype>
#include <chrono>
#include <stdexcept>

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

tcp::acceptor listen_on(net::io_context& ioc, const endpoint& where, int inherited_fd) {
  boost::system::error_code ec;
  if (inherited_fd >= 0) {
    // Already bound and listening: connections waiting in its queue are
    // served by whoever accepts first, the predecessor or us.
    tcp::acceptor acceptor(ioc);
    if (acceptor.assign(tcp::v4(), inherited_fd, ec))
      throw_listen_error(where, ec);
    return acceptor;
  }
  auto address = net::ip::make_address(where.host, ec);
  tcp::endpoint local;
  if (!ec) {
    local = tcp::endpoint(address, where.port);
  } else {
    // A name such as "localhost": startup only, so resolving may block.
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(where.host, std::to_string(where.port),
                                    ec);
    if (ec)
      throw_listen_error(where, ec);
    local = results.begin()->endpoint();
  }
  tcp::acceptor acceptor(ioc);
  if (acceptor.open(local.protocol(), ec))
    throw_listen_error(where, ec);
  // A restarted proxy must not wait for TIME_WAIT connections to expire.
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (acceptor.bind(local, ec))
    throw_listen_error(where, ec);
  if (acceptor.listen(net::socket_base::max_listen_connections, ec))
    throw_listen_error(where, ec);
  return acceptor;
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
  // A connection closing below the bound wakes the listener up again.
  std::weak_ptr<listener> weak = shared_from_this();
  gate_.on_room([weak, executor = acceptor_.get_executor()] {
    net::post(executor, [weak] {
      if (auto self = weak.lock())
        self->do_accept();
    });
  });
  net::post(acceptor_.get_executor(),
            [self = shared_from_this()] { self->do_accept(); });
}

void listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    self->stopped_ = true;
    self->backoff_.cancel();
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
  });
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
  target_ = threads_[next_];
  next_ = (next_ + 1) % threads_.size();
  acceptor_.async_accept(
    target_->context().get_executor(),
    [self = shared_from_this()](boost::system::error_code ec,
                                upstream_pool::socket_type socket) {
      self->on_accept(ec, std::move(socket));
    });
}

void listener::on_accept(boost::system::error_code ec,
                         upstream_pool::socket_type socket) {
  if (stopped_ || ec == net::error::operation_aborted) {
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
  auto* thread = target_;
  net::post(thread->context(), [thread, socket = std::move(socket)]() mutable {
    start_session(*thread, std::move(socket));
  });
  do_accept();
}

} // namespace corral::proxy
