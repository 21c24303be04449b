// The admin endpoint: a small HTTP server that hands GET paths to the app.
#include "proxy/admin_server.hpp"

#include "log/log.hpp"
#include "proxy/listener.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <thread>

namespace corral {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr auto read_timeout = std::chrono::seconds(30);
constexpr auto answer_timeout = std::chrono::seconds(30);
constexpr uint64_t max_request_body = 64 * 1024;

class admin_session;

/// Carries the app's answer to one request from any thread back onto the
/// admin io thread. It shares ownership of the io_context, so a late answer
/// never posts into a destroyed one, and only a weak reference to the
/// session: the app cannot keep a connection (or its socket) alive.
class responder {
public:
  responder(std::shared_ptr<net::io_context> ioc,
            std::weak_ptr<admin_session> session, uint64_t seq)
    : ioc_(std::move(ioc)), session_(std::move(session)), seq_(seq) {
  }

  responder(const responder&) = delete;
  responder& operator=(const responder&) = delete;

  /// The app dropped the reply without calling it.
  ~responder() {
    if (!answered_.exchange(true))
      deliver(500, "text/plain; charset=utf-8", "no answer\n");
  }

  void answer(unsigned status, std::string content_type, std::string body) {
    if (answered_.exchange(true))
      return;
    deliver(status, std::move(content_type), std::move(body));
  }

private:
  void deliver(unsigned status, std::string content_type, std::string body);

  std::shared_ptr<net::io_context> ioc_;
  std::weak_ptr<admin_session> session_;
  uint64_t seq_;
  std::atomic<bool> answered_{false};
};

/// The admin listener's bound on open connections (one io thread: no lock).
struct admin_gate {
  uint32_t open = 0;
  uint32_t max = 64;
  /// The listener stopped at the bound; the next closing session resumes it.
  std::function<void()> resume;
};

/// True when `given` is exactly "Bearer <token>", compared in constant time.
bool authorized(std::string_view given, const std::string& token) {
  std::string expected = "Bearer " + token;
  if (given.size() != expected.size())
    return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < given.size(); ++i)
    diff |= static_cast<unsigned char>(given[i] ^ expected[i]);
  return diff == 0;
}

/// One admin connection: read a request, let the app answer, write it.
class admin_session : public std::enable_shared_from_this<admin_session> {
public:
  admin_session(tcp::socket&& socket, std::weak_ptr<net::io_context> ioc,
                const admin_server::handler_function& handler, const std::string& token,
                std::shared_ptr<admin_gate> gate)
    : stream_(std::move(socket)),
      answer_timer_(stream_.get_executor()),
      ioc_(std::move(ioc)),
      handler_(handler),
      token_(token),
      gate_(std::move(gate)) {
    ++gate_->open;
  }

  ~admin_session() {
    --gate_->open;
    if (auto resume = std::exchange(gate_->resume, nullptr))
      resume();
  }

  void run() {
    do_read();
  }

  /// The app's answer to request number `seq` (on the admin io thread).
  void on_answer(uint64_t seq, unsigned status, std::string content_type,
                 std::string body) {
    // A late answer to a request that already timed out is dropped.
    if (!waiting_ || seq != seq_)
      return;
    waiting_ = false;
    answer_timer_.cancel();
    respond(status, content_type, std::move(body));
  }

private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(max_request_body);
    stream_.expires_after(read_timeout);
    http::async_read(
      stream_, buffer_, *parser_,
      beast::bind_front_handler(&admin_session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout)
      return close();
    if (ec == http::error::body_limit) {
      keep_alive_ = false;
      return respond(413, "text/plain; charset=utf-8", "body too large\n");
    }
    if (ec) {
      if (log::enabled(log::level::debug))
        log::debug("admin", "read failed", {{"error", ec.message()}});
      if (ec.category() == http::make_error_code(http::error::bad_method)
                             .category()
          && ec != http::error::partial_message) {
        keep_alive_ = false;
        return respond(400, "text/plain; charset=utf-8",
                       "malformed request\n");
      }
      return close();
    }
    auto& req = parser_->get();
    version_ = req.version();
    keep_alive_ = req.keep_alive();
    if (req.method() != http::verb::get) {
      response_.set(http::field::allow, "GET");
      return respond(405, "text/plain; charset=utf-8",
                     "only GET is supported\n");
    }
    auto target = std::string_view{req.target().data(), req.target().size()};
    auto path = target.substr(0, target.find('?'));
    if (!token_.empty() && path != "/healthz") {
      auto given = req[http::field::authorization];
      if (!authorized(std::string_view{given.data(), given.size()}, token_)) {
        response_.set(http::field::www_authenticate, "Bearer realm=\"corral\"");
        return respond(401, "text/plain; charset=utf-8",
                       "a bearer token is needed ([admin] token_file)\n");
      }
    }
    ++seq_;
    waiting_ = true;
    answer_timer_.expires_after(answer_timeout);
    answer_timer_.async_wait(beast::bind_front_handler(
      &admin_session::on_answer_timeout, shared_from_this(), seq_));
    auto ioc = ioc_.lock();
    if (!ioc)
      return;
    auto r = std::make_shared<responder>(std::move(ioc), weak_from_this(),
                                         seq_);
    try {
      handler_(path, [r](unsigned status, std::string content_type,
                         std::string body) {
        r->answer(status, std::move(content_type), std::move(body));
      });
    } catch (const std::exception& e) {
      log::error("admin", "handler threw", {{"path", path}, {"error", e.what()}});
      on_answer(seq_, 500, "text/plain; charset=utf-8", "internal error\n");
    }
  }

  void on_answer_timeout(uint64_t seq, beast::error_code ec) {
    if (ec)
      return;
    on_answer(seq, 504, "text/plain; charset=utf-8", "no answer in time\n");
  }

  void respond(unsigned status, std::string_view content_type,
               std::string body) {
    response_.result(status);
    response_.version(version_);
    response_.set(http::field::content_type, content_type);
    response_.body() = std::move(body);
    response_.keep_alive(keep_alive_);
    response_.prepare_payload();
    stream_.expires_after(read_timeout);
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&admin_session::on_write,
                                                shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    bool keep_alive = response_.keep_alive();
    response_ = {};
    if (ec || !keep_alive)
      return close();
    do_read();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  net::steady_timer answer_timer_;
  // Weak: a session in a handler the io_context destroys must not own it.
  std::weak_ptr<net::io_context> ioc_;
  const admin_server::handler_function& handler_;
  const std::string& token_;
  std::shared_ptr<admin_gate> gate_;
  uint64_t seq_ = 0;
  unsigned version_ = 11;
  bool waiting_ = false;
  bool keep_alive_ = true;
};

void responder::deliver(unsigned status, std::string content_type,
                        std::string body) {
  auto session = session_.lock();
  if (!session)
    return;
  // The handler takes over the session reference, so the session is never
  // destroyed on the app's thread.
  net::post(*ioc_, [session = std::move(session), seq = seq_, status,
                    content_type = std::move(content_type),
                    body = std::move(body)]() mutable {
    session->on_answer(seq, status, std::move(content_type), std::move(body));
  });
}

} // namespace

struct admin_server::impl {
  admin_settings settings;
  handler_function handler;
  // Shared with the responders of pending requests; declared first, so it
  // outlives the acceptor and the work guard.
  std::shared_ptr<net::io_context> ioc = std::make_shared<net::io_context>(1);
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::steady_timer> backoff;
  std::shared_ptr<admin_gate> gate = std::make_shared<admin_gate>();
  std::thread thread;
  uint16_t port = 0;
  bool running = false;

  void do_accept() {
    // At the bound: wait for a session to close (it calls resume).
    if (gate->open >= gate->max) {
      gate->resume = [this] { net::post(*ioc, [this] { do_accept(); }); };
      return;
    }
    acceptor->async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted)
        return;
      if (ec) {
        // Out of descriptors and the like: wait a little, do not spin.
        log::warn("admin", "accept failed", {{"error", ec.message()}});
        backoff->expires_after(std::chrono::milliseconds(50));
        backoff->async_wait([this](beast::error_code e) {
          if (!e)
            do_accept();
        });
        return;
      }
      std::make_shared<admin_session>(std::move(socket), ioc, handler, settings.token, gate)
        ->run();
      do_accept();
    });
  }
};

admin_server::admin_server(admin_settings settings, handler_function handler)
  : impl_(std::make_unique<impl>()) {
  impl_->settings = std::move(settings);
  impl_->handler = std::move(handler);
}

admin_server::~admin_server() {
  shutdown();
}

void admin_server::start(int inherited_fd) {
  auto& st = *impl_;
  if (st.running)
    return;
  st.acceptor.emplace(proxy::listen_on(*st.ioc, st.settings.listen, inherited_fd));
  st.backoff.emplace(*st.ioc);
  st.gate->max = std::max<uint32_t>(1, st.settings.max_connections);
  st.port = st.acceptor->local_endpoint().port();
  st.work.emplace(st.ioc->get_executor());
  st.do_accept();
  st.thread = std::thread([ioc = st.ioc] { ioc->run(); });
  st.running = true;
  log::info("admin", "listening", {{"host", st.settings.listen.host}, {"port", st.port}});
}

void admin_server::shutdown() {
  auto& st = *impl_;
  if (!st.running)
    return;
  st.running = false;
  // The admin side has nothing worth finishing: stop at once. Handlers left
  // in the queue (with their sessions) die with the io_context.
  st.work.reset();
  st.ioc->stop();
  st.thread.join();
  // Sessions destroyed with the io_context must not wake the listener.
  st.gate->resume = nullptr;
  beast::error_code ignored;
  st.acceptor->close(ignored);
}

uint16_t admin_server::port() const {
  return impl_->port;
}

int admin_server::listen_fd() const {
  return impl_->acceptor ? impl_->acceptor->native_handle() : -1;
}

} // namespace corral
