// http_prober: one Beast client session per probe on the prober's io_context.
#include "runtime/http_prober.hpp"

#include "runtime/local_failure.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <thread>
#include <unordered_set>
#include <utility>

namespace corral {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// A health answer's head is a few hundred bytes; a bigger one is not health.
constexpr std::uint32_t max_head_bytes = 8 * 1024;

class probe_session;

// The sessions in flight, touched only on the prober's thread; shutdown walks
// it to cut them short.
using session_registry = std::unordered_set<probe_session*>;

/// One probe: connect, write the GET, read the response head, all under one
/// deadline, then report exactly once.
class probe_session : public std::enable_shared_from_this<probe_session> {
public:
  probe_session(net::io_context& io, session_registry& live,
                const std::string& path, uint16_t port,
                std::chrono::milliseconds timeout,
                std::function<void(probe_result)> done)
    : stream_(io),
      live_(live),
      port_(port),
      timeout_(timeout),
      done_(std::move(done)) {
    request_.method(http::verb::get);
    request_.target(path);
    request_.version(11);
    request_.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    request_.set(http::field::user_agent, "corral-health");
    request_.set(http::field::connection, "close");
    // Only the head is read, so the body is never parsed: no body limit can
    // fail a healthy endpoint that answers with a large page.
    parser_.header_limit(max_head_bytes);
  }

  void start() {
    started_ = std::chrono::steady_clock::now();
    live_.insert(this);
    // One deadline for the whole probe: it keeps running across connect,
    // write and read, so a slow-but-steady server cannot stretch it.
    stream_.expires_after(timeout_);
    net::ip::tcp::endpoint endpoint{net::ip::address_v4::loopback(), port_};
    stream_.async_connect(endpoint, beast::bind_front_handler(
                                      &probe_session::on_connect,
                                      shared_from_this()));
  }

  /// Cuts the probe short at shutdown; its handler reports "prober stopped".
  void abort() {
    aborted_ = true;
    stream_.close();
  }

private:
  void on_connect(beast::error_code ec) {
    if (ec)
      return fail(ec);
    http::async_write(stream_, request_,
                      beast::bind_front_handler(&probe_session::on_write,
                                                shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec)
      return fail(ec);
    http::async_read_header(stream_, buffer_, parser_,
                            beast::bind_front_handler(&probe_session::on_read,
                                                      shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec)
      return fail(ec);
    probe_result result;
    result.status = static_cast<int>(parser_.get().result_int());
    result.passed = result.status >= 200 && result.status < 300;
    result.outcome = result.passed ? probe_outcome::ok : probe_outcome::failed_status;
    if (!result.passed)
      result.reason = "status " + std::to_string(result.status);
    finish(std::move(result));
  }

  void fail(beast::error_code ec) {
    probe_result result;
    result.outcome = probe_outcome::connect_error;
    if (aborted_) {
      result.outcome = probe_outcome::aborted;
      result.reason = "prober stopped";
    } else if (is_local_failure(ec)) {
      result.outcome = probe_outcome::local_error;
      result.reason = "corral could not probe: " + ec.message();
    } else if (ec == beast::error::timeout) {
      result.outcome = probe_outcome::timeout;
      result.reason = "timeout after " + std::to_string(timeout_.count())
                      + " ms";
    } else if (ec == net::error::connection_refused) {
      result.reason = "connection refused";
    } else if (ec == http::error::end_of_stream
               || ec == http::error::partial_message || ec == net::error::eof
               || ec == net::error::connection_reset) {
      result.reason = "connection closed before a response";
    } else if (ec.category() == http::make_error_code(http::error::bad_version).category()) {
      result.outcome = probe_outcome::protocol_error;
      result.reason = "not an HTTP answer: " + ec.message();
    } else {
      result.reason = ec.message();
    }
    finish(std::move(result));
  }

  void finish(probe_result result) {
    result.latency = std::chrono::steady_clock::now() - started_;
    live_.erase(this);
    beast::error_code ignored;
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
    stream_.close();
    // Moved out first: `done` may drop the last reference to whoever owns
    // this probe's context.
    auto done = std::move(done_);
    done(std::move(result));
  }

  beast::tcp_stream stream_;
  session_registry& live_;
  uint16_t port_;
  std::chrono::milliseconds timeout_;
  std::function<void(probe_result)> done_;
  http::request<http::empty_body> request_;
  http::response_parser<http::empty_body> parser_;
  beast::flat_buffer buffer_{max_head_bytes};
  std::chrono::steady_clock::time_point started_;
  bool aborted_ = false;
};

} // namespace

struct http_prober::state {
  explicit state(std::string probe_path) : path(std::move(probe_path)) {}

  std::string path;
  net::io_context io{1};
  // Keeps run() going while no probe is in flight.
  net::executor_work_guard<net::io_context::executor_type> work{
    io.get_executor()};
  session_registry live;
  std::thread thread;
};

http_prober::http_prober(std::string path)
  : state_(std::make_unique<state>(std::move(path))) {
  state_->thread = std::thread([s = state_.get()] { s->io.run(); });
}

http_prober::~http_prober() {
  // Posted after every probe() that returned before: those sessions have
  // started by the time this runs (posts run in order), so none is missed.
  net::post(state_->io, [s = state_.get()] {
    for (auto* session : s->live)
      session->abort();
  });
  state_->work.reset();
  state_->thread.join();
}

void http_prober::probe(uint16_t port, std::chrono::milliseconds timeout,
                        std::function<void(probe_result)> done) {
  net::post(state_->io, [s = state_.get(), port, timeout,
                         done = std::move(done)]() mutable {
    std::make_shared<probe_session>(s->io, s->live, s->path, port, timeout,
                                    std::move(done))
      ->start();
  });
}

} // namespace corral
