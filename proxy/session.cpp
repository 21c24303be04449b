// One client connection of the reverse proxy: read a request, get a port,
// forward it over a pooled keep-alive connection, relay the answer; repeat.
#include "proxy/session.hpp"

#include "log/log.hpp"
#include "proxy/http_rules.hpp"
#include "proxy/io_thread.hpp"
#include "runtime/local_failure.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <cerrno>
#include <sys/socket.h>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace corral::proxy {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;
using socket_type = upstream_pool::socket_type;
/// A stream with timeouts on the io_context's own executor type (see
/// upstream_pool::socket_type).
using stream_type = beast::basic_stream<tcp, net::io_context::executor_type,
                                        beast::unlimited_rate_policy>;

namespace {

/// Reserved up front: a fresh flat_buffer grows from nothing and reads about
/// 512 bytes per system call (DESIGN.md, pitfalls). Requests are mostly
/// small; the backend side reads whole answers, so it gets more.
constexpr std::size_t client_buffer_size = 8 * 1024;
constexpr std::size_t backend_buffer_size = 16 * 1024;

/// Response body bytes relayed per read from the backend.
constexpr std::size_t relay_chunk_size = 16 * 1024;

/// Spare exchange buffers an io thread keeps for later requests.
constexpr std::size_t max_spare_buffers = 1024;

/// How long a closing connection is drained so that the client reads our
/// last response instead of a reset caused by its unread bytes.
constexpr auto linger_timeout = std::chrono::seconds(2);

constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";

/// Logs an error of one connection. Beast's examples print them; a proxy
/// sees them all day (clients vanish, backends restart), so only at debug,
/// and the error's text is not even built unless debug is on.
void fail(beast::error_code ec, const char* what) {
  if (log::enabled(log::level::debug))
    log::debug("proxy", what, {{"error", ec.message()}});
}

/// The memory a session needs only while it talks to a backend: what it
/// reads from the backend, and the piece of body on its way to the client.
/// Lent for one exchange, so an idle keep-alive client holds none of it.
struct exchange_buffers {
  exchange_buffers() {
    backend.reserve(backend_buffer_size);
  }
  beast::flat_buffer backend;
  std::array<char, relay_chunk_size> relay;
};

/// The io thread's spare exchange buffers. thread_local is per io thread
/// here, since each io thread runs exactly one io_context: no lock, and
/// after warm-up a request allocates none.
thread_local std::vector<std::unique_ptr<exchange_buffers>> spare_buffers;

std::unique_ptr<exchange_buffers> borrow_buffers() {
  if (spare_buffers.empty())
    return std::make_unique<exchange_buffers>();
  auto buffers = std::move(spare_buffers.back());
  spare_buffers.pop_back();
  buffers->backend.clear();
  return buffers;
}

void give_back(std::unique_ptr<exchange_buffers> buffers) {
  if (buffers && spare_buffers.size() < max_spare_buffers)
    spare_buffers.push_back(std::move(buffers));
}

/// True for errors of Beast's HTTP parser (malformed input).
bool is_parse_error(beast::error_code ec) {
  return ec.category() == http::make_error_code(http::error::bad_method)
                            .category();
}

/// One client connection. Everything runs on the io thread that owns it, so
/// there is no strand: see io_thread. The session is kept alive by its
/// pending operation or, while it waits for a port, by the port source.
class session final : public tracked_session,
                      public port_waiter,
                      public std::enable_shared_from_this<session> {
public:
  session(socket_type&& socket, io_thread& thread)
    : thread_(thread),
      client_(std::move(socket)),
      backend_(thread.context().get_executor()) {
    beast::error_code ec;
    client_.socket().set_option(tcp::no_delay(true), ec);
    auto remote = client_.socket().remote_endpoint(ec);
    if (!ec)
      client_address_ = remote.address().to_string();
    client_buffer_.reserve(client_buffer_size);
    thread_.add(*this);
  }

  ~session() override {
    // Every path reports its port before it lets go of the session; this
    // only catches a handler that threw.
    if (port_)
      if (auto* ports = thread_.ports_if_alive())
        ports->finished(*port_);
    release_body();
    give_back(std::move(exchange_));
    thread_.remove(*this);
  }

  void run() {
    if (thread_.shutting_down())
      return close();
    do_read_request();
  }

  void on_port(std::optional<uint16_t> port) override;
  void on_server_shutdown() override;
  void force_close() override;
  void on_backend_slow() override;

private:
  /// What the session is doing, for the shutdown decision.
  enum class phase : uint8_t { reading, forwarding, lingering, closed };

  // -- the client's request --------------------------------------------------
  void do_read_request();
  void on_request_begins(beast::error_code ec, std::size_t bytes);
  void do_read_header();
  void on_read_header(beast::error_code ec, std::size_t);
  bool reserve_body();
  void release_body();
  void on_write_continue(beast::error_code ec, std::size_t);
  void do_read_body();
  void on_read_body(beast::error_code ec, std::size_t);
  void on_body_read(beast::error_code ec, std::size_t);
  void on_read_error(beast::error_code ec);
  void on_request();

  // -- one attempt at a backend ----------------------------------------------
  void ask_port(bool retry);
  void do_connect();
  void on_connect(beast::error_code ec);
  void do_write_request();
  void on_write_request(beast::error_code ec, std::size_t);
  void do_read_response_header();
  void on_read_response_header(beast::error_code ec, std::size_t);
  void fail_attempt(failure_point point, beast::error_code ec);
  void watch_client();
  void stop_watching_client();
  void on_client_signal(beast::error_code ec);

  // -- relaying the response -------------------------------------------------
  void prepare_response();
  void do_read_response_body();
  void on_read_response_body(beast::error_code ec, std::size_t);
  void do_write_response();
  void on_write_response(beast::error_code ec, std::size_t);
  void fail_relay(beast::error_code ec);
  void finish_backend();
  void on_response_done();

  // -- answers of the proxy itself, and the end ------------------------------
  void send_error(http::status status, std::string_view text, bool close);
  void on_write_error(bool keep_alive, beast::error_code ec, std::size_t);
  void finish_response(unsigned status, bool keep_alive);
  void do_linger();
  void on_linger(beast::error_code ec, std::size_t);
  void close();

  /// How an attempt ended, for the balancer.
  enum class outcome : uint8_t {
    /// Answered (not 5xx), or abandoned by the client.
    finished,
    /// The backend could not take the request at all.
    unreachable,
    /// A 5xx answer, one that broke off, or none in time: passive checks
    /// count these.
    bad,
  };
  /// Reports the port in hand (if any) exactly once.
  void settle_port(outcome how);
  /// Ends the backend connection: back to the pool, or closed.
  void release_backend(bool reusable);
  /// The buffers of the current exchange (borrowed in on_port).
  beast::flat_buffer& backend_buffer() {
    return exchange_->backend;
  }
  std::array<char, relay_chunk_size>& relay() {
    return exchange_->relay;
  }

  io_thread& thread_;
  stream_type client_;
  beast::flat_buffer client_buffer_;
  std::string client_address_;
  std::optional<http::request_parser<http::string_body>> request_;

  /// The first request of the connection: its head must come within
  /// header_timeout of the accept; later ones may idle first.
  bool first_request_ = true;
  /// Bytes of the body budget this request holds.
  uint64_t body_reserved_ = 0;
  /// A chunked request's head fields (its trailers are not forwarded).
  std::vector<std::pair<std::string, std::string>> head_fields_;
  bool chunked_ = false;

  // Facts about the current request, kept before it is rewritten.
  http::verb method_ = http::verb::get;
  unsigned client_version_ = 11;
  bool client_keep_alive_ = true;
  clock_type::time_point started_;

  // The current attempt.
  unsigned attempts_ = 0;
  std::optional<uint16_t> port_;
  /// The attempt's connection came from the pool (not freshly connected).
  bool pooled_ = false;
  stream_type backend_;
  std::unique_ptr<exchange_buffers> exchange_;
  std::optional<http::request_serializer<http::string_body>> request_writer_;
  std::optional<http::response_parser<http::buffer_body>> response_;
  std::optional<http::response_serializer<http::buffer_body>> response_writer_;
  bool backend_reusable_ = false;
  bool keep_alive_ = true;

  /// A response the proxy makes itself (413, 502, 503, ...).
  std::optional<http::response<http::string_body>> local_;

  phase phase_ = phase::reading;
  bool closed_ = false;
  /// A wait for the client's end is out while the backend works.
  bool watching_client_ = false;
  /// The request is at the backend and its answer's head has not come.
  bool awaiting_backend_ = false;
};

// -- the client's request ------------------------------------------------------

void session::do_read_request() {
  phase_ = phase::reading;
  // The previous request's body is gone with its parser.
  release_body();
  request_.emplace();
  request_->body_limit(thread_.settings().max_body);
  // A keep-alive connection may idle (idle_timeout) until its next request
  // begins; from then on, or from the accept, the head must arrive within
  // header_timeout, however slowly its bytes come (slowloris).
  if (std::exchange(first_request_, false) || client_buffer_.size() > 0)
    return do_read_header();
  client_.expires_after(thread_.settings().idle_timeout);
  client_.async_read_some(
    client_buffer_.prepare(client_buffer_size),
    beast::bind_front_handler(&session::on_request_begins, shared_from_this()));
}

void session::on_request_begins(beast::error_code ec, std::size_t bytes) {
  if (closed_)
    return;
  if (ec == net::error::eof)
    return close(); // the client closed between requests
  if (ec)
    return on_read_error(ec);
  client_buffer_.commit(bytes);
  do_read_header();
}

void session::do_read_header() {
  client_.expires_after(thread_.settings().header_timeout);
  http::async_read_header(
    client_, client_buffer_, *request_,
    beast::bind_front_handler(&session::on_read_header, shared_from_this()));
}

bool session::reserve_body() {
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

void session::release_body() {
  if (body_reserved_ > 0)
    thread_.budget().give_back(std::exchange(body_reserved_, 0));
}

void session::on_read_header(beast::error_code ec, std::size_t) {
  if (closed_)
    return;
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
  // most max_body), and Beast reserves that much as it starts to read.
  if (!reserve_body()) {
    thread_.counters().busy.add();
    return send_error(http::status::service_unavailable,
                      "too many request bodies in memory; try again\n", true);
  }
  // The client waits for a go-ahead before it sends the body. The backend
  // never sees the Expect: it gets the whole body at once.
  if (beast::iequals(request_->get()[http::field::expect], "100-continue")) {
    client_.expires_after(thread_.settings().client_timeout);
    net::async_write(client_, net::buffer(continue_line),
                     beast::bind_front_handler(&session::on_write_continue,
                                               shared_from_this()));
    return;
  }
  do_read_body();
}

void session::on_write_continue(beast::error_code ec, std::size_t) {
  if (closed_)
    return;
  if (ec) {
    fail(ec, "write 100-continue");
    return close();
  }
  do_read_body();
}

void session::do_read_body() {
  // Each read must progress within client_timeout: a slow but steady
  // upload passes, a stalled one does not.
  client_.expires_after(thread_.settings().client_timeout);
  http::async_read_some(
    client_, client_buffer_, *request_,
    beast::bind_front_handler(&session::on_read_body, shared_from_this()));
}

void session::on_read_body(beast::error_code ec, std::size_t) {
  if (closed_)
    return;
  if (ec)
    return on_read_error(ec);
  if (!request_->is_done())
    return do_read_body();
  on_request();
}

void session::on_read_error(beast::error_code ec) {
  // The request cannot be completed: whatever we answer, the connection
  // closes after it, since the rest of the request is still unread.
  if (ec == http::error::body_limit)
    return send_error(http::status::payload_too_large,
                      "request body too large\n", true);
  if (ec == http::error::header_limit)
    return send_error(http::status::request_header_fields_too_large,
                      "request header too large\n", true);
  // The client closed between requests, or in the middle of one.
  if (ec == http::error::end_of_stream || ec == http::error::partial_message)
    return close();
  if (is_parse_error(ec))
    return send_error(http::status::bad_request, "malformed request\n",
                      true);
  // Silent past idle_timeout between requests, header_timeout for a head
  // (slowloris) or client_timeout within a body: the stream closed the
  // socket when its deadline passed, so there is nothing to answer on.
  if (ec == beast::error::timeout)
    thread_.counters().client_timeouts.add();
  else
    fail(ec, "read request");
  close();
}

void session::on_request() {
  auto& counters = thread_.counters();
  counters.requests.add();
  started_ = clock_type::now();
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
  // Rewrite once for every attempt: hop-by-hop fields are for this hop only,
  // the backend learns who asked, and the body is framed by its length (a
  // chunked request was decoded whole).
  bool framed = req.count(http::field::content_length) > 0 || chunked_;
  strip_hop_by_hop(req);
  req.erase(http::field::expect);
  set_forwarding_fields(req, client_address_, thread_.settings().trust_forwarded);
  req.version(11);
  if (framed || !req.body().empty())
    req.content_length(req.body().size());
  attempts_ = 0;
  ask_port(false);
}

// -- one attempt at a backend --------------------------------------------------

void session::ask_port(bool retry) {
  phase_ = phase::forwarding;
  thread_.ports().async_next_port(shared_from_this(), retry);
}

void session::on_port(std::optional<uint16_t> port) {
  if (closed_) {
    // Closed while waiting (forced shutdown): hand the port straight back.
    if (port)
      thread_.ports().finished(*port);
    return;
  }
  if (!port) {
    thread_.counters().no_backend.add();
    return send_error(http::status::service_unavailable,
                      "no backend available\n", false);
  }
  port_ = port;
  ++attempts_;
  if (!exchange_)
    exchange_ = borrow_buffers();
  backend_buffer().clear();
  // An idempotent request on a reused connection that turns out dead is
  // retried (fail_attempt), so only the others pay for a peek first.
  pooled_ = thread_.pool().checkout(*port_, backend_.socket(), !is_idempotent(method_));
  if (pooled_) {
    thread_.counters().backend_reuses.add();
    return do_write_request();
  }
  do_connect();
}

void session::do_connect() {
  thread_.counters().backend_connects.add();
  backend_.expires_after(thread_.settings().connect_timeout);
  backend_.async_connect(
    tcp::endpoint(net::ip::address_v4::loopback(), *port_),
    beast::bind_front_handler(&session::on_connect, shared_from_this()));
}

void session::on_connect(beast::error_code ec) {
  if (closed_)
    return;
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
    return send_error(http::status::service_unavailable,
                      "corral is out of resources; try again\n", false);
  }
  // A connect timeout also means the request was never sent.
  if (ec)
    return fail_attempt(failure_point::connect_failed, ec);
  backend_.socket().set_option(tcp::no_delay(true), ec);
  do_write_request();
}

void session::do_write_request() {
  // One deadline for writing the request and reading the answer's head;
  // each body read then gets its own (proxy_settings::backend_timeout).
  backend_.expires_after(thread_.settings().backend_timeout);
  request_writer_.emplace(request_->get());
  http::async_write(
    backend_, *request_writer_,
    beast::bind_front_handler(&session::on_write_request, shared_from_this()));
}

void session::on_write_request(beast::error_code ec, std::size_t) {
  if (closed_)
    return;
  if (ec == beast::error::timeout)
    return fail_attempt(failure_point::timeout, ec);
  if (ec)
    return fail_attempt(failure_point::connection_broke_before_response, ec);
  // Most answers come within a tick: only a slow one makes the session
  // watch its client (io_thread::await_backend).
  awaiting_backend_ = true;
  thread_.await_backend(weak_from_this());
  do_read_response_header();
}

void session::on_backend_slow() {
  if (!closed_ && awaiting_backend_)
    watch_client();
}

void session::watch_client() {
  // While the backend works on the request, nothing is read from the
  // client: a wait tells whether it went away meanwhile.
  if (watching_client_)
    return;
  watching_client_ = true;
  client_.socket().async_wait(
    net::socket_base::wait_read,
    beast::bind_front_handler(&session::on_client_signal, shared_from_this()));
}

void session::stop_watching_client() {
  if (!std::exchange(watching_client_, false))
    return;
  // The wait is the only operation on the client socket right now.
  beast::error_code ignored;
  client_.socket().cancel(ignored);
}

void session::on_client_signal(beast::error_code ec) {
  if (closed_ || !std::exchange(watching_client_, false) || ec)
    return;
  // Readable: either the client's next (pipelined) request, or its end.
  char byte;
  auto n = ::recv(client_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)))
    return; // still there
  // Gone: whatever the backend answers has nobody to go to. Closing the
  // backend connection cancels the exchange; the port is settled finished.
  thread_.counters().client_gone.add();
  if (log::enabled(log::level::debug))
    log::debug("proxy", "client went away while its request was at the backend",
               {{"port", port_ ? *port_ : 0}});
  close();
}

void session::do_read_response_header() {
  response_.emplace();
  // Relayed piece by piece, so any size passes.
  response_->body_limit(boost::none);
  // A response to HEAD announces a body it does not carry.
  if (method_ == http::verb::head)
    response_->skip(true);
  http::async_read_header(backend_, backend_buffer(), *response_,
                          beast::bind_front_handler(
                            &session::on_read_response_header,
                            shared_from_this()));
}

void session::on_read_response_header(beast::error_code ec, std::size_t) {
  awaiting_backend_ = false;
  if (closed_)
    return;
  if (ec == beast::error::timeout)
    return fail_attempt(failure_point::timeout, ec);
  if (ec) {
    bool started = response_->got_some() || backend_buffer().size() > 0;
    return fail_attempt(started ? failure_point::response_started
                                : failure_point::connection_broke_before_response,
                        ec);
  }
  auto status = response_->get().result_int();
  if (status / 100 == 1) {
    // Upgrade was stripped from the request, so 101 is a broken backend.
    if (status == 101)
      return fail_attempt(failure_point::response_started,
                          http::error::bad_status);
    // Interim answers (100 Continue, 103 Early Hints) are not relayed: the
    // client was answered 100 by the proxy itself. The final one follows.
    return do_read_response_header();
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
    return ask_port(true);
  }
  prepare_response();
  response_writer_.emplace(response_->get());
  do_read_response_body();
}

void session::fail_attempt(failure_point point, beast::error_code ec) {
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
    return ask_port(true);
  }
  if (status_for(point) == 504) {
    thread_.counters().gateway_timeout.add();
    return send_error(http::status::gateway_timeout,
                      "backend did not answer in time\n", false);
  }
  thread_.counters().bad_gateway.add();
  send_error(http::status::bad_gateway, "backend failed\n", false);
}

// -- relaying the response -----------------------------------------------------

void session::prepare_response() {
  stop_watching_client();
  auto& res = response_->get();
  // Read before the rewrite: what the backend said about its connection.
  backend_reusable_ = response_->keep_alive();
  auto length = response_->content_length();
  bool bodiless = response_->is_done(); // HEAD, 204, 304, or Content-Length 0
  strip_hop_by_hop(res);
  bool close_delimited = false;
  if (bodiless) {
    // Keep the Content-Length the backend sent (a HEAD answer announces one).
  } else if (length) {
    res.content_length(length);
  } else if (client_version_ >= 11) {
    // Chunked or ended by the backend's close: re-chunk it for the client.
    res.chunked(true);
  } else {
    // An HTTP/1.0 client knows no chunks: end the body by closing.
    close_delimited = true;
  }
  keep_alive_ = client_keep_alive_ && !close_delimited
                && !thread_.shutting_down();
  res.version(client_version_);
  res.keep_alive(keep_alive_);
}

void session::do_read_response_body() {
  auto& body = response_->get().body();
  if (response_->is_done()) {
    body.data = nullptr;
    body.size = 0;
    body.more = false;
    return do_write_response();
  }
  body.data = relay().data();
  body.size = relay().size();
  // Each read must progress within backend_timeout: a large answer that
  // keeps coming is never cut off, a stalled one is.
  backend_.expires_after(thread_.settings().backend_timeout);
  http::async_read_some(backend_, backend_buffer(), *response_,
                        beast::bind_front_handler(
                          &session::on_read_response_body,
                          shared_from_this()));
}

void session::on_read_response_body(beast::error_code ec, std::size_t) {
  if (closed_)
    return;
  if (ec == http::error::need_buffer)
    ec = {};
  if (ec)
    return fail_relay(ec);
  auto& body = response_->get().body();
  body.size = relay().size() - body.size;
  body.more = !response_->is_done();
  // An empty piece must not reach the serializer as data: in a chunked
  // answer it becomes a zero-size chunk, which ends the body early.
  body.data = body.size > 0 ? relay().data() : nullptr;
  if (body.size == 0 && body.more)
    return do_read_response_body(); // only chunk framing arrived
  do_write_response();
}

void session::do_write_response() {
  // The backend's part is over once its answer is read: its connection and
  // port are free now, not when the client has the last byte (a draining
  // container may stop as soon as the balancer hears it).
  if (response_->is_done())
    finish_backend();
  client_.expires_after(thread_.settings().client_timeout);
  http::async_write(
    client_, *response_writer_,
    beast::bind_front_handler(&session::on_write_response, shared_from_this()));
}

void session::on_write_response(beast::error_code ec, std::size_t) {
  if (closed_)
    return;
  if (ec == http::error::need_buffer)
    ec = {};
  if (ec) {
    // The client left mid-response: if the backend's answer is not read to
    // its end, close() closes that connection rather than pooling it.
    fail(ec, "write response");
    return close();
  }
  if (!response_writer_->is_done())
    return do_read_response_body();
  on_response_done();
}

void session::fail_relay(beast::error_code ec) {
  if (log::enabled(log::level::debug))
    log::debug("proxy", "backend response broke", {{"port", *port_}, {"error", ec.message()}});
  release_backend(false);
  settle_port(outcome::bad);
  // Part of the answer is out: the only honest signal left is to close.
  if (response_writer_->is_header_done())
    return close();
  response_writer_.reset();
  response_.reset();
  if (ec == beast::error::timeout) {
    thread_.counters().gateway_timeout.add();
    return send_error(http::status::gateway_timeout,
                      "backend did not answer in time\n", false);
  }
  thread_.counters().bad_gateway.add();
  send_error(http::status::bad_gateway, "backend failed\n", false);
}

void session::finish_backend() {
  if (!port_)
    return;
  // Reusable only when the exchange ended cleanly with nothing extra sent.
  release_backend(backend_reusable_ && backend_buffer().size() == 0);
  settle_port(response_->get().result_int() >= 500 ? outcome::bad : outcome::finished);
}

void session::on_response_done() {
  auto status = response_->get().result_int();
  response_writer_.reset();
  response_.reset();
  request_writer_.reset();
  give_back(std::move(exchange_));
  finish_response(status, keep_alive_);
}

// -- answers of the proxy itself, and the end ----------------------------------

void session::send_error(http::status status, std::string_view text,
                         bool close) {
  stop_watching_client();
  // The proxy answers itself: no backend exchange is left running.
  give_back(std::move(exchange_));
  phase_ = phase::forwarding;
  bool keep_alive = !close && client_keep_alive_ && !thread_.shutting_down();
  auto version = request_ && request_->is_header_done()
                   ? request_->get().version()
                   : 11u;
  local_.emplace(status, version);
  local_->set(http::field::content_type, "text/plain; charset=utf-8");
  // 503: no backend became ready within queue_timeout; worth a retry soon.
  if (status == http::status::service_unavailable)
    local_->set(http::field::retry_after, "1");
  local_->body() = text;
  local_->keep_alive(keep_alive);
  local_->prepare_payload();
  client_.expires_after(thread_.settings().client_timeout);
  http::async_write(client_, *local_,
                    beast::bind_front_handler(&session::on_write_error,
                                              shared_from_this(), keep_alive));
}

void session::on_write_error(bool keep_alive, beast::error_code ec,
                             std::size_t) {
  if (closed_)
    return;
  auto status = local_->result_int();
  local_.reset();
  if (ec) {
    fail(ec, "write error response");
    return close();
  }
  finish_response(status, keep_alive);
}

void session::finish_response(unsigned status, bool keep_alive) {
  auto& counters = thread_.counters();
  counters.count_response(status);
  if (request_ && request_->is_done())
    counters.record_latency(clock_type::now() - started_);
  if (!keep_alive || thread_.shutting_down())
    return do_linger();
  do_read_request();
}

void session::do_linger() {
  // Half-close, then drain what the client still sends until it closes: an
  // unread byte would make close() send a reset, which can destroy the
  // response before the client read it (a 413 with the body in flight).
  phase_ = phase::lingering;
  request_.reset();
  beast::error_code ec;
  client_.socket().shutdown(net::socket_base::shutdown_send, ec);
  if (ec)
    return close();
  // Shutting down, with nothing unread: a plain close sends no reset, and
  // the server need not wait for the client to hang up.
  if (thread_.shutting_down() && client_buffer_.size() == 0
      && client_.socket().available(ec) == 0 && !ec)
    return close();
  client_buffer_.clear();
  // One deadline for the whole drain.
  client_.expires_after(linger_timeout);
  client_.async_read_some(
    client_buffer_.prepare(client_buffer_size),
    beast::bind_front_handler(&session::on_linger, shared_from_this()));
}

void session::on_linger(beast::error_code ec, std::size_t) {
  if (closed_)
    return;
  if (ec)
    return close(); // EOF: the client read everything and left
  client_.async_read_some(
    client_buffer_.prepare(client_buffer_size),
    beast::bind_front_handler(&session::on_linger, shared_from_this()));
}

void session::close() {
  if (std::exchange(closed_, true))
    return;
  phase_ = phase::closed;
  // Pending handlers return at once when they see closed_; a port in hand
  // is given back here, so it is reported exactly once.
  release_backend(false);
  settle_port(outcome::finished);
  // The exchange buffers stay: an aborted read or write may still touch
  // them when it completes. The destructor gives them back.
  client_.close();
  release_body();
}

void session::on_server_shutdown() {
  if (closed_)
    return;
  // Idle between requests: nothing to finish. Anything else finishes its
  // current request, whose response then carries Connection: close.
  bool idle = phase_ == phase::reading && client_buffer_.size() == 0
              && !(request_ && request_->got_some());
  if (idle)
    close();
}

void session::force_close() {
  close();
}

void session::settle_port(outcome how) {
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

void session::release_backend(bool reusable) {
  if (reusable && !thread_.shutting_down()) {
    backend_.expires_never();
    thread_.pool().release(*port_, std::move(backend_.socket()));
    return;
  }
  if (backend_.socket().is_open())
    backend_.close();
}

} // namespace

void start_session(io_thread& thread, socket_type&& socket) {
  std::make_shared<session>(std::move(socket), thread)->run();
}

} // namespace corral::proxy
