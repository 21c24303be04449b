// One client connection of the reverse proxy: read a request, hand it to the
// upstream exchange, relay the answer; repeat. The backend side lives in
// upstream_exchange.cpp.
#include "proxy/session.hpp"

#include "log/log.hpp"
#include "proxy/deadline.hpp"
#include "proxy/http_rules.hpp"
#include "proxy/io_thread.hpp"
#include "proxy/upstream_exchange.hpp"
#include "proxy/whole_write.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <utility>
#include <vector>

namespace corral::proxy {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;
using socket_type = upstream_pool::socket_type;
using error_code = boost::system::error_code;

namespace {

/// Reserved up front: a fresh flat_buffer grows from nothing and reads about
/// 512 bytes per system call (DESIGN.md, pitfalls). Requests are mostly
/// small.
constexpr std::size_t client_buffer_size = 8 * 1024;

/// How long a closing connection is drained so that the client reads our
/// last response instead of a reset caused by its unread bytes.
constexpr auto linger_timeout = std::chrono::seconds(2);
/// How long a stopping server waits for the first request of a connection
/// that has sent nothing yet (its request is usually a round trip away; a
/// browser's preconnect may never send one).
constexpr auto fresh_connection_grace = std::chrono::seconds(1);

constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::string_view crlf = "\r\n";
constexpr std::string_view last_chunk = "0\r\n\r\n";
constexpr std::string_view crlf_last_chunk = "\r\n0\r\n\r\n";

/// Logs an error of one connection. Beast's examples print them; a proxy
/// sees them all day (clients vanish, backends restart), so only at debug,
/// and the error's text is not even built unless debug is on.
void fail(error_code ec, const char* what) {
  if (log::enabled(log::level::debug))
    log::debug("proxy", what, {{"error", ec.message()}});
}

/// True for errors of Beast's HTTP parser (malformed input).
bool is_parse_error(error_code ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

net::const_buffer buffer_of(std::string_view text) {
  return {text.data(), text.size()};
}

/// One client connection. Everything runs on the io thread that owns it, so
/// there is no strand: see io_thread. The session is kept alive by its
/// pending operation or, while it waits for a port, by the port source.
class client_session final : public tracked_session,
                             public port_waiter,
                             public exchange_owner,
                             public std::enable_shared_from_this<client_session> {
public:
  client_session(socket_type&& socket, io_thread& thread)
    : thread_(thread), client_(std::move(socket)), exchange_(thread, *this) {
    error_code ec;
    client_.set_option(tcp::no_delay(true), ec);
    auto remote = client_.remote_endpoint(ec);
    if (!ec)
      client_address_ = remote.address().to_string();
    client_buffer_.reserve(client_buffer_size);
    thread_.add(*this);
  }

  ~client_session() override {
    release_body();
    thread_.remove(*this);
  }

  void run() {
    read_request();
    // Accepted as the server stops (it was in the kernel's queue): its
    // request is on its way and is served like any other.
    if (thread_.shutting_down())
      on_server_shutdown();
  }

  // port_waiter
  void on_port(std::optional<uint16_t> port) override {
    exchange_.on_port(port);
  }

  // tracked_session
  void on_server_shutdown() override;
  void force_close() override {
    close();
  }
  void on_tick(clock_type::time_point now) override;

  // exchange_owner
  std::shared_ptr<void> hold() override {
    return shared_from_this();
  }
  void ask_port(bool retry) override {
    thread_.ports().async_next_port(shared_from_this(), retry);
  }
  void on_answer() override;
  void on_exchange_failed(http::status status, std::string_view text) override {
    send_error(status, text, false);
  }
  void on_body_piece(error_code ec, std::string_view piece, bool last) override;

private:
  /// What the session is doing, for the shutdown decision.
  enum class phase : uint8_t { reading, forwarding, lingering, closed };
  /// How the answer's body goes to the client.
  enum class framing : uint8_t {
    /// As it came, by its Content-Length (or no body at all).
    length,
    /// Re-chunked: the backend's body had no length (chunked or ended by
    /// its close) and the client speaks HTTP/1.1.
    chunked,
    /// Ended by closing: an HTTP/1.0 client knows no chunks.
    until_close,
  };

  // -- the client's request --------------------------------------------------
  void read_request();
  void on_request_begins(error_code ec, std::size_t bytes);
  void read_header();
  void on_read_header(error_code ec);
  bool reserve_body();
  void release_body();
  void on_write_continue(error_code ec);
  void read_body();
  void read_counted_body();
  void on_read_counted_body(error_code ec, std::size_t bytes);
  void read_chunked_body();
  void on_read_chunked_body(error_code ec);
  void on_read_error(error_code ec);
  void on_request();

  // -- while the backend works -------------------------------------------------
  void watch_client();
  void stop_watching_client();
  void on_client_signal(error_code ec);

  // -- relaying the answer ---------------------------------------------------
  void on_write_piece(error_code ec);

  // -- answers of the proxy itself, and the end ------------------------------
  void send_error(http::status status, std::string_view text, bool close);
  void on_write_error(bool keep_alive, error_code ec);
  void finish_response(unsigned status, bool keep_alive);
  void linger();
  void on_linger(error_code ec);
  void close();

  io_thread& thread_;
  socket_type client_;
  beast::flat_buffer client_buffer_;
  std::string client_address_;
  std::optional<http::request_parser<http::string_body>> request_;
  upstream_exchange exchange_;

  /// No request has been read on this connection yet: its head must come
  /// within header_timeout of the accept (later ones may idle first), and
  /// a stopping server waits a little for it (fresh_connection_grace).
  bool first_request_ = true;
  /// The current request was read whole.
  bool request_complete_ = false;
  /// Bytes of the body budget this request holds.
  uint64_t body_reserved_ = 0;
  /// A chunked request's head fields (its trailers are not forwarded).
  std::vector<std::pair<std::string, std::string>> head_fields_;
  bool chunked_ = false;
  /// A body framed by Content-Length is read straight into this, without
  /// the parser (and without zero-filling it first); a chunked one goes
  /// through the parser into its string.
  std::unique_ptr<char[]> body_;
  std::size_t body_size_ = 0;
  std::size_t body_read_ = 0;
  /// The request's head as it goes to the backend (reused).
  std::string forward_head_;

  // Facts about the current request, kept before it is rewritten.
  http::verb method_ = http::verb::get;
  unsigned client_version_ = 11;
  bool client_keep_alive_ = true;
  clock_type::time_point started_;

  // The answer on its way to the client.
  std::string answer_head_;
  std::string chunk_line_;
  framing framing_ = framing::length;
  unsigned answer_status_ = 0;
  bool head_sent_ = false;
  bool last_piece_ = false;
  bool keep_alive_ = true;

  /// A response the proxy makes itself (413, 502, 503, ...).
  std::optional<http::response<http::string_body>> local_;

  phase phase_ = phase::reading;
  bool closed_ = false;
  /// A wait for the client's end is out while the backend works.
  bool watching_client_ = false;
  /// The pending client operation's deadline.
  phase_deadline deadline_;
};

// -- the client's request ------------------------------------------------------

void client_session::read_request() {
  phase_ = phase::reading;
  // The previous request's body is gone with its answer.
  release_body();
  request_.emplace();
  request_->body_limit(thread_.settings().max_body);
  request_complete_ = false;
  // A keep-alive connection may idle (idle_timeout) until its next request
  // begins; from then on, or from the accept, the head must arrive within
  // header_timeout, however slowly its bytes come (slowloris).
  if (first_request_ || client_buffer_.size() > 0)
    return read_header();
  deadline_.set(thread_.settings().idle_timeout);
  client_.async_read_some(client_buffer_.prepare(client_buffer_size),
                          [self = shared_from_this()](error_code ec, std::size_t bytes) {
                            self->on_request_begins(ec, bytes);
                          });
}

void client_session::on_request_begins(error_code ec, std::size_t bytes) {
  if (closed_)
    return;
  ec = deadline_.outcome(ec);
  if (ec == net::error::eof)
    return close(); // the client closed between requests
  if (ec)
    return on_read_error(ec);
  client_buffer_.commit(bytes);
  read_header();
}

void client_session::read_header() {
  deadline_.set(thread_.settings().header_timeout);
  http::async_read_header(client_, client_buffer_, *request_,
                          [self = shared_from_this()](error_code ec, std::size_t) {
                            self->on_read_header(ec);
                          });
}

bool client_session::reserve_body() {
  uint64_t bytes = 0;
  if (auto length = request_->content_length())
    bytes = *length;
  else if (request_->chunked())
    bytes = thread_.settings().max_body;
  if (bytes == 0)
    return true;
  if (!thread_.budget().take(bytes))
    return false;
  body_reserved_ = bytes;
  return true;
}

void client_session::release_body() {
  body_.reset();
  body_size_ = body_read_ = 0;
  if (body_reserved_ > 0)
    thread_.budget().give_back(std::exchange(body_reserved_, 0));
}

void client_session::on_read_header(error_code ec) {
  if (closed_)
    return;
  ec = deadline_.outcome(ec);
  if (ec)
    return on_read_error(ec);
  chunked_ = request_->chunked();
  // The head's fields, to restore after a chunked body's trailers (which
  // the parser adds among them, next to any field of the same name).
  head_fields_.clear();
  if (chunked_)
    for (auto& field : request_->get())
      head_fields_.emplace_back(std::string{field.name_string()}, std::string{field.value()});
  if (request_->is_done())
    return on_request();
  // Bodies are held whole (a failed attempt can be sent again): past
  // max_buffered, all connections together, corral says so at once rather
  // than grow. The body's length is known from its head (or, chunked, at
  // most max_body).
  if (!reserve_body()) {
    thread_.counters().busy.add();
    return send_error(http::status::service_unavailable,
                      "too many request bodies in memory; try again\n", true);
  }
  // The client waits for a go-ahead before it sends the body. The backend
  // never sees the Expect: it gets the whole body at once.
  if (beast::iequals(request_->get()[http::field::expect], "100-continue")) {
    deadline_.set(thread_.settings().client_timeout);
    net::async_write(client_, net::buffer(continue_line),
                     [self = shared_from_this()](error_code e, std::size_t) {
                       self->on_write_continue(e);
                     });
    return;
  }
  read_body();
}

void client_session::on_write_continue(error_code ec) {
  if (closed_)
    return;
  ec = deadline_.outcome(ec);
  if (ec) {
    fail(ec, "write 100-continue");
    return close();
  }
  read_body();
}

void client_session::read_body() {
  if (chunked_)
    return read_chunked_body();
  // Framed by Content-Length (the parser checked it against max_body): what
  // came with the head is copied once, the rest is read straight into place.
  body_size_ = static_cast<std::size_t>(*request_->content_length());
  body_.reset(new char[body_size_]);
  body_read_ = std::min(body_size_, client_buffer_.size());
  std::memcpy(body_.get(), client_buffer_.data().data(), body_read_);
  client_buffer_.consume(body_read_);
  if (body_read_ == body_size_)
    return on_request();
  read_counted_body();
}

void client_session::read_counted_body() {
  // Each read must progress within client_timeout: a slow but steady
  // upload passes, a stalled one does not. Never past the body's end: what
  // follows is the next request's.
  deadline_.set(thread_.settings().client_timeout);
  client_.async_read_some(net::buffer(body_.get() + body_read_, body_size_ - body_read_),
                          [self = shared_from_this()](error_code ec, std::size_t bytes) {
                            self->on_read_counted_body(ec, bytes);
                          });
}

void client_session::on_read_counted_body(error_code ec, std::size_t bytes) {
  if (closed_)
    return;
  ec = deadline_.outcome(ec);
  if (ec == net::error::eof)
    ec = http::error::partial_message;
  if (ec)
    return on_read_error(ec);
  body_read_ += bytes;
  if (body_read_ < body_size_)
    return read_counted_body();
  on_request();
}

void client_session::read_chunked_body() {
  deadline_.set(thread_.settings().client_timeout);
  http::async_read_some(client_, client_buffer_, *request_,
                        [self = shared_from_this()](error_code ec, std::size_t) {
                          self->on_read_chunked_body(ec);
                        });
}

void client_session::on_read_chunked_body(error_code ec) {
  if (closed_)
    return;
  ec = deadline_.outcome(ec);
  if (ec)
    return on_read_error(ec);
  if (!request_->is_done())
    return read_chunked_body();
  on_request();
}

void client_session::on_read_error(error_code ec) {
  // The request cannot be completed: whatever we answer, the connection
  // closes after it, since the rest of the request is still unread.
  if (ec == http::error::body_limit)
    return send_error(http::status::payload_too_large, "request body too large\n", true);
  if (ec == http::error::header_limit)
    return send_error(http::status::request_header_fields_too_large,
                      "request header too large\n", true);
  // The client closed between requests, or in the middle of one.
  if (ec == http::error::end_of_stream || ec == http::error::partial_message)
    return close();
  if (is_parse_error(ec))
    return send_error(http::status::bad_request, "malformed request\n", true);
  // Silent past idle_timeout between requests, header_timeout for a head
  // (slowloris) or client_timeout within a body: the tick closed the
  // socket when its deadline passed, so there is nothing to answer on.
  if (ec == beast::error::timeout)
    thread_.counters().client_timeouts.add();
  else
    fail(ec, "read request");
  close();
}

void client_session::on_request() {
  auto& counters = thread_.counters();
  counters.requests.add();
  started_ = clock_type::now();
  request_complete_ = true;
  first_request_ = false;
  auto& req = request_->get();
  method_ = req.method();
  client_version_ = req.version();
  client_keep_alive_ = req.keep_alive();
  // A chunked body's trailer fields were parsed into the fields: they are
  // dropped, never turned into headers. (The parser forgets that the body
  // was chunked once it is done, hence the flag from the head.)
  if (chunked_ && static_cast<size_t>(std::distance(req.begin(), req.end()))
                    != head_fields_.size()) {
    for (auto field = req.begin(); field != req.end();)
      field = req.erase(field);
    for (auto& [name, value] : head_fields_)
      req.insert(name, value);
  }
  if (auto refusal = refuse_request(req, method_, client_version_)) {
    counters.refused.add();
    return send_error(static_cast<http::status>(refusal->status),
                      std::string{refusal->reason} + "\n", refusal->status == 400);
  }
  std::string_view body = chunked_ ? std::string_view{req.body()}
                                   : std::string_view{body_.get(), body_size_};
  // Rewrite once for every attempt: hop-by-hop fields are for this hop only,
  // the backend learns who asked, and the body is framed by its length (a
  // chunked request was decoded whole).
  bool framed = req.count(http::field::content_length) > 0 || chunked_;
  strip_hop_by_hop(req);
  req.erase(http::field::expect);
  set_forwarding_fields(req, client_address_, thread_.settings().trust_forwarded);
  if (framed || !body.empty())
    req.content_length(body.size());
  forward_head_.clear();
  append_request_head(forward_head_, req.method_string(), req.target(), req);
  phase_ = phase::forwarding;
  exchange_.start(forward_head_, body, method_);
}

// -- while the backend works -----------------------------------------------------

void client_session::on_tick(clock_type::time_point now) {
  if (closed_)
    return;
  if (deadline_.expire_at(now)) {
    // As basic_stream did: the connection closes, which completes the
    // pending operation, and its handler hears the timeout.
    error_code ignored;
    client_.close(ignored);
  }
  exchange_.on_tick(now);
  // Most answers come within a tick: only a slow one makes the session
  // watch its client for a hang-up (an epoll registration nearly every
  // request would otherwise pay for).
  if (auto since = exchange_.waiting_since(); since && now - *since >= io_thread::tick_interval)
    watch_client();
}

void client_session::watch_client() {
  // While the backend works on the request, nothing is read from the
  // client: a wait tells whether it went away meanwhile.
  if (watching_client_)
    return;
  watching_client_ = true;
  client_.async_wait(net::socket_base::wait_read,
                     [self = shared_from_this()](error_code ec) { self->on_client_signal(ec); });
}

void client_session::stop_watching_client() {
  if (!std::exchange(watching_client_, false))
    return;
  // The wait is the only operation on the client socket right now.
  error_code ignored;
  client_.cancel(ignored);
}

void client_session::on_client_signal(error_code ec) {
  if (closed_ || !std::exchange(watching_client_, false) || ec)
    return;
  // Readable: either the client's next (pipelined) request, or its end.
  char byte;
  auto n = ::recv(client_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)))
    return; // still there
  // Gone: whatever the backend answers has nobody to go to. Abandoning the
  // exchange closes its connection; the port is settled finished.
  thread_.counters().client_gone.add();
  if (log::enabled(log::level::debug))
    log::debug("proxy", "client went away while its request was at the backend");
  close();
}

// -- relaying the answer -------------------------------------------------------

void client_session::on_answer() {
  stop_watching_client();
  auto& answer = exchange_.answer();
  auto& res = answer.get();
  answer_status_ = res.result_int();
  auto length = exchange_.body_length();
  bool bodiless = answer.is_done(); // HEAD, 204, 304, or Content-Length 0
  strip_hop_by_hop(res);
  if (bodiless) {
    // Keep the Content-Length the backend sent (a HEAD answer announces one).
    framing_ = framing::length;
  } else if (length) {
    res.content_length(*length);
    framing_ = framing::length;
  } else if (client_version_ >= 11) {
    // Chunked or ended by the backend's close: re-chunk it for the client.
    res.chunked(true);
    framing_ = framing::chunked;
  } else {
    framing_ = framing::until_close;
  }
  keep_alive_ = client_keep_alive_ && framing_ != framing::until_close
                && !thread_.shutting_down();
  res.version(client_version_);
  res.keep_alive(keep_alive_);
  answer_head_.clear();
  append_response_head(answer_head_, client_version_, answer_status_, res.reason(), res);
  head_sent_ = false;
  exchange_.read_body();
}

void client_session::on_body_piece(error_code ec, std::string_view piece, bool last) {
  if (closed_)
    return;
  if (ec) {
    // Part of the answer is out: the only honest signal left is to close.
    if (head_sent_)
      return close();
    if (ec == beast::error::timeout) {
      thread_.counters().gateway_timeout.add();
      return send_error(http::status::gateway_timeout, "backend did not answer in time\n",
                        false);
    }
    thread_.counters().bad_gateway.add();
    return send_error(http::status::bad_gateway, "backend failed\n", false);
  }
  // The head goes with the first piece, chunk framing around each piece:
  // one gather write per piece.
  std::array<net::const_buffer, 4> out{};
  if (!head_sent_)
    out[0] = buffer_of(answer_head_);
  if (framing_ == framing::chunked) {
    if (!piece.empty()) {
      chunk_line_.clear();
      append_chunk_size(chunk_line_, piece.size());
      out[1] = buffer_of(chunk_line_);
      out[2] = buffer_of(piece);
      out[3] = buffer_of(last ? crlf_last_chunk : crlf);
    } else if (last) {
      out[3] = buffer_of(last_chunk);
    }
  } else {
    out[2] = buffer_of(piece);
  }
  head_sent_ = true;
  last_piece_ = last;
  deadline_.set(thread_.settings().client_timeout);
  net::async_write(client_, out, whole_write,
                   [self = shared_from_this()](error_code e, std::size_t) {
                     self->on_write_piece(e);
                   });
}

void client_session::on_write_piece(error_code ec) {
  if (closed_)
    return;
  ec = deadline_.outcome(ec);
  if (ec) {
    // The client left mid-answer: if the backend's answer is not read to
    // its end, close() closes that connection rather than pooling it.
    fail(ec, "write response");
    return close();
  }
  if (!last_piece_)
    return exchange_.read_body();
  exchange_.finish();
  finish_response(answer_status_, keep_alive_);
}

// -- answers of the proxy itself, and the end ----------------------------------

void client_session::send_error(http::status status, std::string_view text, bool close) {
  stop_watching_client();
  // The proxy answers itself: no backend exchange is left running.
  exchange_.finish();
  phase_ = phase::forwarding;
  bool keep_alive = !close && client_keep_alive_ && !thread_.shutting_down();
  auto version = request_ && request_->is_header_done() ? request_->get().version() : 11u;
  local_.emplace(status, version);
  local_->set(http::field::content_type, "text/plain; charset=utf-8");
  // 503: no backend became ready within queue_timeout; worth a retry soon.
  if (status == http::status::service_unavailable)
    local_->set(http::field::retry_after, "1");
  local_->body() = text;
  local_->keep_alive(keep_alive);
  local_->prepare_payload();
  deadline_.set(thread_.settings().client_timeout);
  http::async_write(client_, *local_,
                    [self = shared_from_this(), keep_alive](error_code ec, std::size_t) {
                      self->on_write_error(keep_alive, ec);
                    });
}

void client_session::on_write_error(bool keep_alive, error_code ec) {
  if (closed_)
    return;
  ec = deadline_.outcome(ec);
  auto status = local_->result_int();
  local_.reset();
  if (ec) {
    fail(ec, "write error response");
    return close();
  }
  finish_response(status, keep_alive);
}

void client_session::finish_response(unsigned status, bool keep_alive) {
  auto& counters = thread_.counters();
  counters.count_response(status);
  if (request_complete_)
    counters.record_latency(clock_type::now() - started_);
  if (!keep_alive || thread_.shutting_down())
    return linger();
  read_request();
}

void client_session::linger() {
  // Half-close, then drain what the client still sends until it closes: an
  // unread byte would make close() send a reset, which can destroy the
  // response before the client read it (a 413 with the body in flight).
  phase_ = phase::lingering;
  request_.reset();
  release_body();
  // Nothing of the client's unread (its request was read whole, or the
  // server is shutting down, and no byte more has come): a plain close
  // sends no reset, so there is nothing to drain and no reason to wait for
  // the client to hang up. nginx lingers only in that case too.
  error_code ec;
  if ((request_complete_ || thread_.shutting_down()) && client_buffer_.size() == 0
      && client_.available(ec) == 0 && !ec)
    return close();
  client_.shutdown(net::socket_base::shutdown_send, ec);
  if (ec)
    return close();
  client_buffer_.clear();
  // One deadline for the whole drain.
  deadline_.set(linger_timeout);
  client_.async_read_some(client_buffer_.prepare(client_buffer_size),
                          [self = shared_from_this()](error_code e, std::size_t) {
                            self->on_linger(e);
                          });
}

void client_session::on_linger(error_code ec) {
  if (closed_)
    return;
  if (ec)
    return close(); // EOF: the client read everything and left
  client_.async_read_some(client_buffer_.prepare(client_buffer_size),
                          [self = shared_from_this()](error_code e, std::size_t) {
                            self->on_linger(e);
                          });
}

void client_session::close() {
  if (std::exchange(closed_, true))
    return;
  phase_ = phase::closed;
  deadline_.clear();
  // Pending handlers return at once when they see closed_; a port in hand
  // is given back by the exchange, so it is reported exactly once.
  exchange_.abandon();
  error_code ignored;
  client_.close(ignored);
  release_body();
}

void client_session::on_server_shutdown() {
  if (closed_)
    return;
  // Idle between requests: nothing to finish (a client whose next request
  // crosses the close sends it again on a new connection, as HTTP allows).
  // A fresh connection is not idle: its client connected to send a request,
  // which may be on its way, and it has nothing to send it again on. It gets
  // a moment for it. Anything else finishes its current request, whose
  // response then carries Connection: close.
  bool idle = phase_ == phase::reading && client_buffer_.size() == 0
              && !(request_ && request_->got_some());
  if (!idle)
    return;
  if (first_request_)
    deadline_.cap(fresh_connection_grace);
  else
    close();
}

} // namespace

void start_session(io_thread& thread, socket_type&& socket) {
  std::make_shared<client_session>(std::move(socket), thread)->run();
}

} // namespace corral::proxy
