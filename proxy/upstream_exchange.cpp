// One request's trip to the backends: port, connection, request out, answer
// back, and the retries in between.
#include "proxy/upstream_exchange.hpp"

#include "log/log.hpp"
#include "proxy/exchange_buffers.hpp"
#include "proxy/io_thread.hpp"
#include "proxy/whole_write.hpp"
#include "runtime/local_failure.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include <algorithm>
#include <array>
#include <utility>

namespace corral::proxy {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

upstream_exchange::upstream_exchange(io_thread& thread, exchange_owner& owner)
  : thread_(thread), owner_(owner), backend_(thread.context().get_executor()) {
}

upstream_exchange::~upstream_exchange() {
  // Every path settles its port before it lets go of the exchange; this
  // only catches a handler that threw.
  if (port_)
    if (auto* ports = thread_.ports_if_alive())
      ports->finished(*std::exchange(port_, std::nullopt));
  error_code ignored;
  backend_.close(ignored);
  thread_.give_back(std::move(buffers_));
}

void upstream_exchange::start(std::string_view head, std::string_view body, http::verb method) {
  head_ = head;
  body_ = body;
  method_ = method;
  attempts_ = 0;
  live_ = true;
  owner_.ask_port(false);
}

void upstream_exchange::on_port(std::optional<uint16_t> port) {
  if (!live_) {
    if (port)
      thread_.ports().finished(*port);
    return;
  }
  if (!port) {
    live_ = false;
    thread_.counters().no_backend.add();
    return owner_.on_exchange_failed(http::status::service_unavailable,
                                     "no backend available\n");
  }
  port_ = port;
  ++attempts_;
  if (!buffers_)
    buffers_ = thread_.borrow_buffers();
  buffers_->backend.clear();
  // An idempotent request on a reused connection that turns out dead is
  // retried (fail_attempt), so only the others pay for a peek first.
  pooled_ = thread_.pool().checkout(*port_, backend_, !is_idempotent(method_));
  if (pooled_) {
    thread_.counters().backend_reuses.add();
    return write_request();
  }
  connect();
}

void upstream_exchange::connect() {
  thread_.counters().backend_connects.add();
  deadline_.set(thread_.settings().connect_timeout);
  backend_.async_connect(tcp::endpoint(net::ip::address_v4::loopback(), *port_),
                         [this, life = owner_.hold()](error_code ec) { on_connect(ec); });
}

void upstream_exchange::on_connect(error_code ec) {
  if (!live_)
    return;
  ec = deadline_.outcome(ec);
  // corral could not even open a socket (out of descriptors): the backend
  // is not to blame. Its port is settled as finished, not failed, and the
  // client hears that corral is busy.
  if (is_local_failure(ec)) {
    thread_.counters().local_errors.add();
    if (log::enabled(log::level::warn))
      log::warn("proxy", "cannot connect to a backend: corral's own trouble",
                {{"port", *port_}, {"error", ec.message()}});
    release_backend(false);
    settle_port(outcome::finished);
    live_ = false;
    return owner_.on_exchange_failed(http::status::service_unavailable,
                                     "corral is out of resources; try again\n");
  }
  // A connect timeout also means the request was never sent.
  if (ec)
    return fail_attempt(failure_point::connect_failed, ec);
  backend_.set_option(tcp::no_delay(true), ec);
  write_request();
}

void upstream_exchange::write_request() {
  // One deadline for writing the request and reading the answer's head;
  // each body read then gets its own (proxy_settings::backend_timeout).
  deadline_.set(thread_.settings().backend_timeout);
  // Head and body in one gather write: one system call for most requests.
  std::array<net::const_buffer, 2> request{net::buffer(head_.data(), head_.size()),
                                           net::buffer(body_.data(), body_.size())};
  net::async_write(backend_, request, whole_write,
                   [this, life = owner_.hold()](error_code ec, std::size_t) {
                     on_write_request(ec);
                   });
}

void upstream_exchange::on_write_request(error_code ec) {
  if (!live_)
    return;
  if (deadline_.take_expired())
    return fail_attempt(failure_point::timeout, beast::error::timeout);
  if (ec)
    return fail_attempt(failure_point::connection_broke_before_response, ec);
  // Most answers come within a tick: only a slow one makes the session
  // watch its client (client_session::on_tick).
  waiting_ = true;
  sent_at_ = clock_type::now();
  read_head();
}

void upstream_exchange::read_head() {
  answer_.emplace();
  // Relayed piece by piece, so any size passes.
  answer_->body_limit(boost::none);
  // A response to HEAD announces a body it does not carry.
  if (method_ == http::verb::head)
    answer_->skip(true);
  http::async_read_header(backend_, buffers_->backend, *answer_,
                          [this, life = owner_.hold()](error_code ec, std::size_t) {
                            on_read_head(ec);
                          });
}

void upstream_exchange::on_read_head(error_code ec) {
  waiting_ = false;
  if (!live_)
    return;
  // The deadline runs on through interim answers: it is cleared below,
  // once the final head is in or the attempt failed.
  if (deadline_.take_expired())
    return fail_attempt(failure_point::timeout, beast::error::timeout);
  if (ec) {
    bool started = answer_->got_some() || buffers_->backend.size() > 0;
    return fail_attempt(started ? failure_point::response_started
                                : failure_point::connection_broke_before_response,
                        ec);
  }
  auto status = answer_->get().result_int();
  if (status / 100 == 1) {
    // Upgrade was stripped from the request, so 101 is a broken backend.
    if (status == 101)
      return fail_attempt(failure_point::response_started, http::error::bad_status);
    // Interim answers (100 Continue, 103 Early Hints) are not relayed: the
    // client was answered 100 by the proxy itself. The final one follows,
    // within the same deadline.
    waiting_ = true;
    return read_head();
  }
  // retry_on = "5xx": an idempotent request answered with a 5xx goes to
  // another backend, as long as nothing of the answer reached the client
  // (nothing has: only the head is read). The answer's body is not read,
  // so the connection is not reused.
  if (status >= 500 && thread_.settings().retry_on_5xx
      && may_retry(method_, failure_point::connection_broke_before_response, attempts_,
                   thread_.settings().retries)) {
    release_backend(false);
    settle_port(outcome::bad);
    thread_.counters().retries.add();
    return owner_.ask_port(true);
  }
  deadline_.clear();
  // Read before the owner rewrites the head: what the backend said about
  // its connection and its body.
  backend_keep_alive_ = answer_->keep_alive();
  handed_from_buffer_ = 0;
  if (answer_->is_done()) { // HEAD, 204, 304, or Content-Length: 0
    mode_ = body_mode::counted;
    remaining_ = 0;
  } else if (auto length = answer_->content_length()) {
    mode_ = body_mode::counted;
    remaining_ = *length;
  } else {
    mode_ = body_mode::parsed;
  }
  owner_.on_answer();
}

void upstream_exchange::fail_attempt(failure_point point, error_code ec) {
  if (log::enabled(log::level::debug))
    log::debug("proxy", "backend attempt failed",
               {{"port", *port_},
                {"point", to_string(point)},
                {"error", ec.message()},
                {"attempt", attempts_}});
  release_backend(false);
  // A reused connection that broke: the backend closed it (idle timeout, a
  // restart), and its other idle ones are likely dead as well.
  if (pooled_)
    thread_.pool().drop(*port_);
  // Report first, so a failed port has left the rotation before the retry
  // asks for the next one.
  settle_port(backend_unreachable(point, pooled_) ? outcome::unreachable
              : point == failure_point::timeout || point == failure_point::response_started
                ? outcome::bad
                : outcome::finished);
  if (may_retry(method_, point, attempts_, thread_.settings().retries)) {
    thread_.counters().retries.add();
    return owner_.ask_port(true);
  }
  live_ = false;
  if (status_for(point) == 504) {
    thread_.counters().gateway_timeout.add();
    return owner_.on_exchange_failed(http::status::gateway_timeout,
                                     "backend did not answer in time\n");
  }
  thread_.counters().bad_gateway.add();
  owner_.on_exchange_failed(http::status::bad_gateway, "backend failed\n");
}

// -- the answer's body ---------------------------------------------------------

void upstream_exchange::read_body() {
  if (mode_ == body_mode::parsed)
    return read_parsed();
  auto& buffer = buffers_->backend;
  buffer.consume(std::exchange(handed_from_buffer_, 0));
  if (remaining_ == 0) { // no body at all
    complete();
    return owner_.on_body_piece({}, {}, true);
  }
  // What came with the head (most small answers: all of it) goes out
  // straight from the buffer it was read into.
  if (buffer.size() > 0) {
    auto n = static_cast<std::size_t>(std::min<uint64_t>(buffer.size(), remaining_));
    remaining_ -= n;
    handed_from_buffer_ = n;
    bool last = remaining_ == 0;
    if (last)
      complete();
    return owner_.on_body_piece({}, {static_cast<const char*>(buffer.data().data()), n}, last);
  }
  read_counted();
}

void upstream_exchange::read_counted() {
  // Each read must progress within backend_timeout: a large answer that
  // keeps coming is never cut off, a stalled one is. Never past the body's
  // end: what follows would not be ours to relay.
  deadline_.set(thread_.settings().backend_timeout);
  auto want = static_cast<std::size_t>(
    std::min<uint64_t>(exchange_buffers::relay_size, remaining_));
  backend_.async_read_some(net::buffer(buffers_->relay(), want),
                           [this, life = owner_.hold()](error_code ec, std::size_t bytes) {
                             on_read_counted(ec, bytes);
                           });
}

void upstream_exchange::on_read_counted(error_code ec, std::size_t bytes) {
  if (!live_)
    return;
  ec = deadline_.outcome(ec);
  if (ec == net::error::eof)
    ec = http::error::partial_message; // closed before the announced length
  if (ec)
    return fail_body(ec);
  remaining_ -= bytes;
  bool last = remaining_ == 0;
  if (last)
    complete();
  owner_.on_body_piece({}, {buffers_->relay(), bytes}, last);
}

void upstream_exchange::read_parsed() {
  auto& body = answer_->get().body();
  body.data = buffers_->relay();
  body.size = exchange_buffers::relay_size;
  deadline_.set(thread_.settings().backend_timeout);
  http::async_read_some(backend_, buffers_->backend, *answer_,
                        [this, life = owner_.hold()](error_code ec, std::size_t) {
                          on_read_parsed(ec);
                        });
}

void upstream_exchange::on_read_parsed(error_code ec) {
  if (!live_)
    return;
  ec = deadline_.outcome(ec);
  if (ec == http::error::need_buffer)
    ec = {};
  if (ec)
    return fail_body(ec);
  auto& body = answer_->get().body();
  auto bytes = exchange_buffers::relay_size - body.size;
  bool last = answer_->is_done();
  // Only chunk framing arrived: nothing to hand out yet.
  if (bytes == 0 && !last)
    return read_parsed();
  if (last)
    complete();
  owner_.on_body_piece({}, {buffers_->relay(), bytes}, last);
}

void upstream_exchange::fail_body(error_code ec) {
  if (log::enabled(log::level::debug))
    log::debug("proxy", "backend response broke", {{"port", *port_}, {"error", ec.message()}});
  release_backend(false);
  settle_port(outcome::bad);
  live_ = false;
  owner_.on_body_piece(ec, {}, true);
}

void upstream_exchange::complete() {
  live_ = false;
  // Reusable only when the exchange ended cleanly with nothing extra sent
  // (in a counted body, the last piece may still sit in the buffer).
  bool clean = buffers_->backend.size() == handed_from_buffer_;
  release_backend(backend_keep_alive_ && clean);
  settle_port(answer_->get().result_int() >= 500 ? outcome::bad : outcome::finished);
}

void upstream_exchange::finish() {
  answer_.reset();
  handed_from_buffer_ = 0;
  thread_.give_back(std::move(buffers_));
}

void upstream_exchange::abandon() {
  live_ = false;
  waiting_ = false;
  deadline_.clear();
  release_backend(false);
  settle_port(outcome::finished);
  // The buffers stay: an aborted read may still complete into them. The
  // destructor gives them back.
}

// -- deadlines, ports and the connection ----------------------------------------

void upstream_exchange::expire() {
  error_code ignored;
  backend_.close(ignored);
}

void upstream_exchange::settle_port(outcome how) {
  if (!port_)
    return;
  auto port = *std::exchange(port_, std::nullopt);
  switch (how) {
    case outcome::finished:
      thread_.ports().finished(port);
      break;
    case outcome::unreachable:
      thread_.ports().failed(port);
      break;
    case outcome::bad:
      thread_.ports().bad(port);
      break;
  }
}

void upstream_exchange::release_backend(bool reusable) {
  deadline_.clear();
  if (reusable && port_ && !thread_.shutting_down()) {
    thread_.pool().release(*port_, std::move(backend_));
    return;
  }
  error_code ignored;
  if (backend_.is_open())
    backend_.close(ignored);
}

} // namespace corral::proxy
