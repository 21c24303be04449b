// One request's trip to the backends: port, connection, request out, answer
// back. Included only by the two translation units that need Beast's parser.
#pragma once

#include "proxy/deadline.hpp"
#include "proxy/http_rules.hpp"
#include "proxy/upstream_pool.hpp"

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace corral::proxy {

class io_thread;
struct exchange_buffers;

/// What an upstream_exchange needs from the client session it serves.
class exchange_owner {
public:
  /// Keeps the owner (and with it the exchange) alive while an operation of
  /// the exchange is pending.
  virtual std::shared_ptr<void> hold() = 0;

  /// Asks the thread's port source for a port; its answer comes back to
  /// upstream_exchange::on_port. `retry`: another attempt of the request.
  virtual void ask_port(bool retry) = 0;

  /// The answer's head arrived (upstream_exchange::answer()): relay it, and
  /// its body piece by piece with read_body().
  virtual void on_answer() = 0;

  /// No answer will come: every attempt failed, or no backend was there.
  /// The port is settled and the connection closed; the client gets
  /// `status` with `text`.
  virtual void on_exchange_failed(boost::beast::http::status status, std::string_view text) = 0;

  /// A piece of the answer's body (read_body): `piece` stays valid until
  /// the next read_body() or finish(); `last` when the body ends with it
  /// (the backend's connection and port are already released then). With an
  /// error, the answer broke off: the port is settled, the connection closed.
  virtual void on_body_piece(boost::system::error_code ec, std::string_view piece, bool last) = 0;

protected:
  ~exchange_owner() = default;
};

/// The upstream half of a client session, as Beast's advanced server keeps
/// one class per role: it gets a port, connects or takes a pooled
/// connection, writes the request, reads the answer's head, and on failure
/// settles the port and tries the next backend as the retry rules allow.
/// Then it hands the answer's body out piece by piece. It owns the backend
/// connection, the answer's parser and the buffers its thread lends for the
/// exchange; the client side (client_session.cpp) owns everything else.
///
/// Every port it takes is reported exactly once (finished, failed or bad).
/// One deadline per phase (connect, request-and-head, each body read),
/// checked on the thread's tick: no timer is armed per operation.
class upstream_exchange {
public:
  using clock_type = std::chrono::steady_clock;
  using answer_parser
    = boost::beast::http::response_parser<boost::beast::http::buffer_body>;

  /// An exchange of a session of `thread`, reporting to `owner`.
  upstream_exchange(io_thread& thread, exchange_owner& owner);

  upstream_exchange(const upstream_exchange&) = delete;
  upstream_exchange& operator=(const upstream_exchange&) = delete;

  /// Settles a port still in hand (a handler threw), closes the connection
  /// and gives the buffers back.
  ~upstream_exchange();

  /// Forwards a request: `head` and `body`, as they go on the wire, must
  /// stay valid until the exchange ends (on_exchange_failed, the last
  /// piece, or abandon()). Asks the owner for a port first.
  void start(std::string_view head, std::string_view body, boost::beast::http::verb method);

  /// The port source's answer to the owner's ask_port.
  void on_port(std::optional<uint16_t> port);

  /// After on_answer: the answer's head, to rewrite for the client.
  answer_parser& answer() {
    return *answer_;
  }

  /// After on_answer: the body's length when the backend framed it by
  /// Content-Length (0 when the answer has no body: HEAD, 204, 304), or
  /// nullopt when it is chunked or ends with the connection.
  std::optional<uint64_t> body_length() const {
    return mode_ == body_mode::parsed ? std::nullopt : std::optional<uint64_t>{remaining_};
  }

  /// Reads the next piece of the answer's body; the owner hears
  /// on_body_piece, possibly before this returns (a piece that came with
  /// the head is handed out at once). Pieces are never empty unless last.
  void read_body();

  /// After the last piece reached the client: the buffers go back to the
  /// thread and the exchange is ready for the session's next request.
  void finish();

  /// The session closes with the exchange still running (its client left,
  /// or a forced shutdown): the backend connection is closed, never pooled
  /// (its answer was not read to the end), and the port settled finished.
  /// Pending handlers then do nothing.
  void abandon();

  /// The thread's tick: past its deadline the pending operation is ended as
  /// a timeout (the connection is closed, which completes it).
  void on_tick(clock_type::time_point now) {
    if (deadline_.expire_at(now))
      expire();
  }

  /// Since when the request has been at the backend without its answer's
  /// head, or nullopt when it is not waiting for one.
  std::optional<clock_type::time_point> waiting_since() const {
    return waiting_ ? std::optional{sent_at_} : std::nullopt;
  }

private:
  /// How the answer's body is framed, as read from its head.
  enum class body_mode : uint8_t {
    /// Content-Length (or no body): counted down, relayed without parsing.
    counted,
    /// Chunked or ended by the close: through the parser.
    parsed,
  };
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

  void connect();
  void on_connect(boost::system::error_code ec);
  void write_request();
  void on_write_request(boost::system::error_code ec);
  void read_head();
  void on_read_head(boost::system::error_code ec);
  void fail_attempt(failure_point point, boost::system::error_code ec);
  void read_counted();
  void on_read_counted(boost::system::error_code ec, std::size_t bytes);
  void read_parsed();
  void on_read_parsed(boost::system::error_code ec);
  void fail_body(boost::system::error_code ec);
  /// The whole answer is read: the connection goes back to the pool (when
  /// the backend keeps it open and sent nothing more) and the port is
  /// settled, before the client has the last byte (a draining container
  /// may stop as soon as the balancer hears it).
  void complete();

  /// Ends the pending operation whose deadline passed: closing the
  /// connection completes it, and its handler hears the timeout.
  void expire();
  /// Reports the port in hand (if any) exactly once.
  void settle_port(outcome how);
  /// Ends the backend connection: back to the pool, or closed.
  void release_backend(bool reusable);

  io_thread& thread_;
  exchange_owner& owner_;
  upstream_pool::socket_type backend_;
  std::unique_ptr<exchange_buffers> buffers_;
  std::optional<answer_parser> answer_;

  // The request, as it goes on the wire.
  std::string_view head_;
  std::string_view body_;
  boost::beast::http::verb method_ = boost::beast::http::verb::get;

  // The current attempt.
  unsigned attempts_ = 0;
  std::optional<uint16_t> port_;
  /// The attempt's connection came from the pool (not freshly connected).
  bool pooled_ = false;
  /// Handlers act only while the exchange is live: abandon() ends it.
  bool live_ = false;
  /// The pending operation's deadline.
  phase_deadline deadline_;
  /// The request is at the backend, its answer's head not in yet.
  bool waiting_ = false;
  clock_type::time_point sent_at_;

  // The answer's body.
  body_mode mode_ = body_mode::counted;
  /// counted: bytes of the body not yet handed out.
  uint64_t remaining_ = 0;
  /// counted: bytes of the last piece handed out of the backend buffer,
  /// consumed when the next piece is asked for.
  std::size_t handed_from_buffer_ = 0;
  bool backend_keep_alive_ = false;
};

} // namespace corral::proxy
