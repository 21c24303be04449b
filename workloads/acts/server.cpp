// The Acts HTTP/1.1 front end over Boost.Beast (see server.hpp), shaped like Beast's async server example.
#include "workloads/acts/server.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <optional>
#include <string>

#include "log/log.hpp"

namespace acts {

namespace log = corral::log;
namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

/// Request bodies above this are refused with 413.
constexpr std::uint64_t max_body_bytes = 16 * 1024 * 1024;

/// How long a kept-alive connection may sit idle, and how long reading one
/// request may take, before the connection is closed.
constexpr auto read_timeout = std::chrono::seconds(60);

/// How long writing one response may take.
constexpr auto write_timeout = std::chrono::seconds(60);

/// After refusing a request we stop sending and read what the client still
/// sends, so that closing does not reset the connection and destroy our
/// answer before the client reads it. Bounded, so a client cannot keep the
/// connection forever.
constexpr auto linger_timeout = std::chrono::seconds(5);
constexpr std::size_t linger_max_bytes = 64 * 1024 * 1024;

/// Reading in 64 KiB steps, not Beast's 512-byte start, keeps uploads cheap.
constexpr std::size_t read_buffer_bytes = 64 * 1024;

// Errors that only mean the peer went away or a timer fired: not worth a log line.
bool is_disconnect(beast::error_code ec) {
  return ec == net::error::operation_aborted || ec == beast::error::timeout || ec == net::error::eof
         || ec == net::error::connection_reset || ec == net::error::broken_pipe
         || ec == http::error::end_of_stream || ec == http::error::partial_message;
}

// Errors of Beast's HTTP parser: the bytes received are not a request we accept.
bool is_parse_error(beast::error_code ec) {
  return ec.category() == beast::error_code{http::error::bad_method}.category() && !is_disconnect(ec);
}

void fail(beast::error_code ec, const char* what) {
  if (!is_disconnect(ec))
    log::warn("acts", what, {{"error", ec.message()}});
}

/// One HTTP connection: read a request, answer it, repeat while the client
/// keeps the connection alive.
class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket&& socket, api& service) : stream_{std::move(socket)}, service_{service} {
    buffer_.reserve(read_buffer_bytes);
  }

  void start() {
    // Run on the session's strand: the socket was accepted on the listener's.
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&session::do_read_header, shared_from_this()));
  }

private:
  void do_read_header() {
    // A fresh parser per request: Beast parsers are single-use.
    parser_.emplace();
    parser_->body_limit(max_body_bytes);
    stream_.expires_after(read_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&session::on_read_header, shared_from_this()));
  }

  void on_read_header(beast::error_code ec, std::size_t) {
    if (ec)
      return on_read_error(ec);
    // Clients such as curl announce large bodies and wait for a go-ahead.
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      continue_.emplace(http::status::continue_, parser_->get().version());
      stream_.expires_after(write_timeout);
      return http::async_write(stream_, *continue_,
                               beast::bind_front_handler(&session::on_write_continue, shared_from_this()));
    }
    do_read_body();
  }

  void on_write_continue(beast::error_code ec, std::size_t) {
    if (ec)
      return fail(ec, "write");
    do_read_body();
  }

  void do_read_body() {
    stream_.expires_after(read_timeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec)
      return on_read_error(ec);
    const auto& request = parser_->get();
    // The request line and body stay in the parser until the next request.
    auto answer = service_.handle(api_request{
      {request.method_string().data(), request.method_string().size()},
      {request.target().data(), request.target().size()},
      request.body()});
    send(request.version(), request.keep_alive(), std::move(answer));
  }

  // A read ended without a complete request: the client left, a timer fired,
  // or the bytes are not an HTTP request we accept.
  void on_read_error(beast::error_code ec) {
    if (ec == http::error::body_limit)
      return refuse(413, "the request body exceeds 16 MiB");
    if (ec == http::error::header_limit)
      return refuse(431, "the request header is too large");
    if (is_parse_error(ec))
      return refuse(400, "malformed HTTP request: " + ec.message());
    fail(ec, "read");
    do_close();
  }

  // Answers a request that cannot be read to its end, then closes.
  // The message is one of ours or a Beast error text: plain ASCII words,
  // but quotes and backslashes are dropped to keep the JSON valid regardless.
  void refuse(unsigned status, const std::string& message) {
    std::string body = R"({"error":")";
    for (char c : message)
      if (c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20)
        body += c;
    body += "\"}";
    send(11, false, api_response{status, "application/json", std::move(body), {}}, true);
  }

  void send(unsigned version, bool keep_alive, api_response answer, bool linger = false) {
    auto& response = response_.emplace(static_cast<http::status>(answer.status), version);
    response.set(http::field::server, "acts");
    if (!answer.content_type.empty())
      response.set(http::field::content_type, answer.content_type);
    if (!answer.allow.empty())
      response.set(http::field::allow, answer.allow);
    response.body() = std::move(answer.body);
    response.keep_alive(keep_alive);
    response.prepare_payload();
    stream_.expires_after(write_timeout);
    http::async_write(stream_, response,
                      beast::bind_front_handler(&session::on_write, shared_from_this(), keep_alive, linger));
  }

  void on_write(bool keep_alive, bool linger, beast::error_code ec, std::size_t) {
    if (ec) {
      fail(ec, "write");
      return do_close();
    }
    response_.reset();
    if (linger)
      return do_linger();
    if (!keep_alive)
      return do_close();
    do_read_header();
  }

  void do_linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    buffer_.clear();
    stream_.expires_after(linger_timeout);
    do_drain();
  }

  void do_drain() {
    stream_.async_read_some(buffer_.prepare(read_buffer_bytes),
                            beast::bind_front_handler(&session::on_drain, shared_from_this()));
  }

  void on_drain(beast::error_code ec, std::size_t bytes) {
    drained_ += bytes;
    if (ec || drained_ > linger_max_bytes)
      return do_close();
    do_drain();
  }

  void do_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  api& service_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  std::optional<http::response<http::string_body>> response_;
  std::size_t drained_ = 0;
};

} // namespace

/// Accepts connections and starts a session for each.
class listener : public std::enable_shared_from_this<listener> {
public:
  listener(net::io_context& io, const tcp::endpoint& endpoint, api& service)
    : io_{io}, acceptor_{net::make_strand(io)}, retry_timer_{acceptor_.get_executor()}, service_{service} {
    acceptor_.open(endpoint.protocol());
    // A restarted container binds its port again at once, despite TIME_WAIT.
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
  }

  void start() { do_accept(); }

  void stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
      self->retry_timer_.cancel();
    });
  }

private:
  void do_accept() {
    acceptor_.async_accept(net::make_strand(io_), beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open())
      return;
    if (ec) {
      // Out of file descriptors and the like: back off instead of spinning.
      fail(ec, "accept");
      retry_timer_.expires_after(std::chrono::milliseconds(100));
      retry_timer_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec)
          self->do_accept();
      });
      return;
    }
    std::make_shared<session>(std::move(socket), service_)->start();
    do_accept();
  }

  net::io_context& io_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
  api& service_;
};

http_server::http_server(net::io_context& io, const tcp::endpoint& endpoint, api& service)
  : listener_{std::make_shared<listener>(io, endpoint, service)} {
}

void http_server::start() {
  listener_->start();
}

void http_server::stop() {
  listener_->stop();
}

} // namespace acts
