// Test helpers for the proxy: in-process backends, a blocking HTTP client
// with deadlines, and a fake balancer that counts every port report.
#include "tests/proxy/support.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include <sys/socket.h>

namespace corral::test {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::optional<std::string> find_header(const header_list& headers,
                                       std::string_view name) {
  for (auto& [key, value] : headers)
    if (beast::iequals(key, name))
      return value;
  return std::nullopt;
}

size_t count_header(const header_list& headers, std::string_view name) {
  size_t n = 0;
  for (auto& [key, value] : headers)
    if (beast::iequals(key, name))
      ++n;
  return n;
}

namespace {

template <class Fields>
header_list to_header_list(const Fields& fields) {
  header_list out;
  for (auto& f : fields)
    out.emplace_back(std::string(f.name_string()), std::string(f.value()));
  return out;
}

} // namespace

// -- test_backend ----------------------------------------------------------------

namespace {

class backend_session;

} // namespace

// Handlers refer to the impl by plain pointer: it owns the io_context, so a
// handler holding it would keep it alive forever.
struct test_backend::impl {
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::thread thread;
  uint16_t port = 0;

  mutable std::mutex mutex;
  std::condition_variable cv;
  backend_mode mode = backend_mode::answer;
  std::function<backend_reply(const seen_request&)> handler;
  std::vector<seen_request> seen;
  size_t connections = 0;
  // io thread only:
  std::vector<std::shared_ptr<backend_session>> sessions;
  std::vector<std::function<void()>> gated;

  void do_accept();
  backend_reply reply_for(const seen_request& req) {
    std::function<backend_reply(const seen_request&)> h;
    {
      std::lock_guard guard{mutex};
      h = handler;
    }
    if (h)
      return h(req);
    backend_reply reply;
    reply.headers.emplace_back("X-Backend-Port", std::to_string(port));
    reply.body = req.body.empty() ? "port " + std::to_string(port) : req.body;
    return reply;
  }
};

namespace {

class backend_session : public std::enable_shared_from_this<backend_session> {
public:
  backend_session(tcp::socket&& socket, test_backend::impl& owner)
    : stream_(std::move(socket)), owner_(owner) {
    buffer_.reserve(64 * 1024);
  }

  void run() {
    do_read();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(256 * 1024 * 1024);
    http::async_read(
      stream_, buffer_, *parser_,
      beast::bind_front_handler(&backend_session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec)
      return close();
    auto& req = parser_->get();
    seen_request seen{std::string(req.method_string()),
                      std::string(req.target()), req.version(),
                      to_header_list(req), req.body()};
    backend_mode mode;
    {
      std::lock_guard guard{owner_.mutex};
      owner_.seen.push_back(seen);
      mode = owner_.mode;
    }
    owner_.cv.notify_all();
    switch (mode) {
      case backend_mode::answer:
        return answer(seen);
      case backend_mode::hang:
        return; // the owner's session list keeps the socket open
      case backend_mode::gate:
        owner_.gated.push_back(
          [self = shared_from_this(), seen] { self->answer(seen); });
        return;
      case backend_mode::reset_after_request: {
        beast::error_code ignored;
        stream_.socket().set_option(net::socket_base::linger(true, 0),
                                    ignored);
        return close();
      }
      case backend_mode::close_after_request: {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        return close();
      }
    }
  }

  void answer(const seen_request& seen) {
    auto reply = owner_.reply_for(seen);
    response_ = {};
    response_.result(reply.status);
    response_.version(11);
    for (auto& [name, value] : reply.headers)
      response_.insert(name, value);
    response_.body() = std::move(reply.body);
    if (reply.chunked)
      response_.chunked(true);
    else
      response_.content_length(response_.body().size());
    // A HEAD answer announces the length of a body it leaves out.
    if (seen.method == "HEAD")
      response_.body().clear();
    http::async_write(
      stream_, response_,
      beast::bind_front_handler(&backend_session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec || !response_.keep_alive())
      return close();
    do_read();
  }

  beast::tcp_stream stream_;
  test_backend::impl& owner_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
};

} // namespace

void test_backend::impl::do_accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec)
      return;
    {
      std::lock_guard guard{mutex};
      ++connections;
    }
    auto session = std::make_shared<backend_session>(std::move(socket), *this);
    sessions.push_back(session);
    session->run();
    do_accept();
  });
}

test_backend::test_backend(uint16_t port) : impl_(std::make_unique<impl>()) {
  tcp::endpoint local{net::ip::address_v4::loopback(), port};
  impl_->acceptor.open(local.protocol());
  impl_->acceptor.set_option(net::socket_base::reuse_address(true));
  impl_->acceptor.bind(local);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->do_accept();
  impl_->thread = std::thread([st = impl_.get()] { st->ioc.run(); });
}

test_backend::~test_backend() {
  kill();
  impl_->ioc.stop();
  impl_->thread.join();
  // Handlers still queued hold sessions that reference *impl_: free them
  // while it is alive.
  impl_->sessions.clear();
  impl_->gated.clear();
}

uint16_t test_backend::port() const {
  return impl_->port;
}

void test_backend::set_mode(backend_mode mode) {
  std::lock_guard guard{impl_->mutex};
  impl_->mode = mode;
}

void test_backend::set_handler(
  std::function<backend_reply(const seen_request&)> handler) {
  std::lock_guard guard{impl_->mutex};
  impl_->handler = std::move(handler);
}

size_t test_backend::requests() const {
  std::lock_guard guard{impl_->mutex};
  return impl_->seen.size();
}

std::vector<seen_request> test_backend::seen() const {
  std::lock_guard guard{impl_->mutex};
  return impl_->seen;
}

size_t test_backend::connections() const {
  std::lock_guard guard{impl_->mutex};
  return impl_->connections;
}

bool test_backend::wait_for_requests(size_t n,
                                     std::chrono::milliseconds deadline) {
  std::unique_lock lock{impl_->mutex};
  return impl_->cv.wait_for(lock, deadline,
                            [&] { return impl_->seen.size() >= n; });
}

void test_backend::release() {
  net::post(impl_->ioc, [st = impl_.get()] {
    auto gated = std::move(st->gated);
    for (auto& answer : gated)
      answer();
  });
}

void test_backend::kill() {
  std::promise<void> done;
  net::post(impl_->ioc, [st = impl_.get(), &done] {
    beast::error_code ignored;
    st->acceptor.close(ignored);
    for (auto& session : st->sessions)
      session->close();
    st->sessions.clear();
    st->gated.clear();
    done.set_value();
  });
  if (impl_->ioc.stopped())
    return;
  done.get_future().wait_for(5s);
}

// -- test_client -------------------------------------------------------------------

namespace {

/// Runs `ioc` until its work is done; every operation carries a deadline.
void run_all(net::io_context& ioc) {
  ioc.restart();
  ioc.run();
}

client_response to_client_response(http::response<http::string_body>& res) {
  client_response out;
  out.ok = true;
  out.status = res.result_int();
  out.version = res.version();
  out.headers = to_header_list(res);
  out.body = std::move(res.body());
  out.keep_alive = res.keep_alive();
  return out;
}

} // namespace

struct test_client::impl {
  net::io_context ioc{1};
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  bool connected = false;
  beast::error_code connect_error;
};

test_client::test_client(uint16_t port, std::chrono::milliseconds deadline)
  : impl_(std::make_unique<impl>()) {
  impl_->stream.expires_after(deadline);
  impl_->stream.async_connect(
    tcp::endpoint{net::ip::address_v4::loopback(), port},
    [this](beast::error_code ec) {
      impl_->connected = !ec;
      impl_->connect_error = ec;
    });
  run_all(impl_->ioc);
}

test_client::~test_client() = default;

bool test_client::connected() const {
  return impl_->connected;
}

client_response test_client::send(const client_request& req,
                                  std::chrono::milliseconds deadline) {
  if (!impl_->connected) {
    client_response out;
    out.error = "not connected: " + impl_->connect_error.message();
    return out;
  }
  http::request<http::string_body> msg;
  msg.method_string(req.method);
  msg.target(req.target);
  msg.version(req.version);
  for (auto& [name, value] : req.headers)
    msg.insert(name, value);
  // Every real HTTP/1.1 client sends Host (the proxy refuses a request
  // without one); a test that wants none says so with an empty value.
  if (msg.version() >= 11 && !find_header(req.headers, "Host"))
    msg.set(http::field::host, "127.0.0.1");
  for (auto i = msg.begin(); i != msg.end();)
    i = beast::iequals(i->name_string(), "Host") && i->value().empty() ? msg.erase(i) : std::next(i);
  msg.body() = req.body;
  if (req.chunked)
    msg.chunked(true);
  else if (!req.body.empty() || req.method == "POST" || req.method == "PUT")
    msg.content_length(req.body.size());
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  if (req.method == "HEAD")
    parser.skip(true);
  client_response out;
  bool read_done = false;
  bool write_done = false;
  impl_->stream.expires_after(deadline);
  http::async_write(impl_->stream, msg,
                    [&](beast::error_code, std::size_t) { write_done = true; });
  http::async_read(impl_->stream, impl_->buffer, parser,
                   [&](beast::error_code ec, std::size_t) {
                     read_done = true;
                     if (ec) {
                       out.error = ec.message();
                     } else {
                       auto res = parser.release();
                       out = to_client_response(res);
                     }
                     // An early answer (413) ends the exchange: stop writing.
                     if (!write_done)
                       impl_->stream.socket().cancel();
                   });
  run_all(impl_->ioc);
  return out;
}

bool test_client::write_raw(std::string_view bytes,
                            std::chrono::milliseconds deadline) {
  beast::error_code result;
  impl_->stream.expires_after(deadline);
  net::async_write(impl_->stream, net::buffer(bytes.data(), bytes.size()),
                   [&](beast::error_code ec, std::size_t) { result = ec; });
  run_all(impl_->ioc);
  return !result;
}

bool test_client::send_now(std::string_view bytes) {
  auto n = ::send(impl_->stream.socket().native_handle(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
  return n == static_cast<ssize_t>(bytes.size());
}

client_response test_client::read_response(std::chrono::milliseconds deadline,
                                           bool head) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  if (head)
    parser.skip(true);
  client_response out;
  impl_->stream.expires_after(deadline);
  http::async_read(impl_->stream, impl_->buffer, parser,
                   [&](beast::error_code ec, std::size_t) {
                     if (ec) {
                       out.error = ec.message();
                       return;
                     }
                     auto res = parser.release();
                     out = to_client_response(res);
                   });
  run_all(impl_->ioc);
  return out;
}

bool test_client::closed_by_peer(std::chrono::milliseconds deadline) {
  if (impl_->buffer.size() > 0)
    return false;
  char byte;
  beast::error_code result;
  std::size_t got = 0;
  impl_->stream.expires_after(deadline);
  impl_->stream.async_read_some(net::buffer(&byte, 1),
                                [&](beast::error_code ec, std::size_t n) {
                                  result = ec;
                                  got = n;
                                });
  run_all(impl_->ioc);
  return got == 0
         && (result == net::error::eof
             || result == net::error::connection_reset);
}

client_response fetch(uint16_t port, const client_request& req) {
  test_client client{port};
  return client.send(req);
}

size_t get_concurrently(uint16_t port, size_t clients, size_t requests) {
  std::atomic<size_t> ok{0};
  std::vector<std::thread> threads;
  for (size_t c = 0; c < clients; ++c)
    threads.emplace_back([&] {
      test_client client{port};
      for (size_t i = 0; i < requests; ++i)
        if (auto res = client.send({}); res.ok && res.status == 200)
          ++ok;
    });
  for (auto& t : threads)
    t.join();
  return ok;
}

bool connection_refused(uint16_t port) {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::error_code result;
  stream.expires_after(2s);
  stream.async_connect(tcp::endpoint{net::ip::address_v4::loopback(), port},
                       [&](beast::error_code ec) { result = ec; });
  ioc.run();
  return result == net::error::connection_refused;
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds within) {
  auto deadline = std::chrono::steady_clock::now() + within;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::yield();
  }
  return true;
}

struct refusing_port::impl {
  net::io_context ioc;
  tcp::socket socket{ioc};
};

refusing_port::refusing_port() : impl_(std::make_unique<impl>()) {
  impl_->socket.open(tcp::v4());
  impl_->socket.bind({net::ip::address_v4::loopback(), 0});
  port_ = impl_->socket.local_endpoint().port();
}

refusing_port::~refusing_port() = default;

// -- fake_balancer -----------------------------------------------------------------

struct fake_balancer::state {
  mutable std::mutex mutex;
  mutable std::condition_variable cv;
  std::vector<uint16_t> ports;
  size_t cursor = 0;
  std::map<uint16_t, size_t> handed_out;
  std::map<uint16_t, size_t> finished;
  std::map<uint16_t, size_t> failed;
  std::map<uint16_t, size_t> bad;
  std::map<uint16_t, size_t> outstanding;
  size_t fresh = 0;
  size_t retries = 0;
  std::vector<std::string> errors;

  void report(uint16_t port, std::map<uint16_t, size_t>& into,
              const char* what) {
    {
      std::lock_guard guard{mutex};
      ++into[port];
      auto& n = outstanding[port];
      if (n == 0)
        errors.push_back(std::string(what) + " " + std::to_string(port)
                         + " was not outstanding");
      else
        --n;
    }
    cv.notify_all();
  }
};

namespace {

/// One io thread's source: answers every ask at once, through a post.
class fake_source final : public port_source {
public:
  fake_source(net::io_context& ioc, std::shared_ptr<fake_balancer::state> st)
    : ioc_(ioc), state_(std::move(st)) {
  }

  void async_next_port(std::shared_ptr<port_waiter> waiter,
                       bool retry) override {
    std::optional<uint16_t> port;
    {
      std::lock_guard guard{state_->mutex};
      ++(retry ? state_->retries : state_->fresh);
      if (!state_->ports.empty()) {
        port = state_->ports[state_->cursor++ % state_->ports.size()];
        ++state_->handed_out[*port];
        ++state_->outstanding[*port];
      }
    }
    net::post(ioc_, [waiter = std::move(waiter), port] {
      waiter->on_port(port);
    });
  }

  void finished(uint16_t port) override {
    state_->report(port, state_->finished, "finished");
  }

  void failed(uint16_t port) override {
    state_->report(port, state_->failed, "failed");
  }

  void bad(uint16_t port) override {
    state_->report(port, state_->bad, "bad");
  }

private:
  net::io_context& ioc_;
  std::shared_ptr<fake_balancer::state> state_;
};

size_t lookup(const std::map<uint16_t, size_t>& m, uint16_t port) {
  auto i = m.find(port);
  return i == m.end() ? 0 : i->second;
}

} // namespace

fake_balancer::fake_balancer(std::vector<uint16_t> ports)
  : state_(std::make_shared<state>()) {
  state_->ports = std::move(ports);
}

port_source_factory fake_balancer::factory() {
  return [st = state_](net::io_context& ioc, unsigned, thread_counters&) {
    return std::make_unique<fake_source>(ioc, st);
  };
}

void fake_balancer::set_ports(std::vector<uint16_t> ports) {
  std::lock_guard guard{state_->mutex};
  state_->ports = std::move(ports);
  state_->cursor = 0;
}

size_t fake_balancer::handed_out(uint16_t port) const {
  std::lock_guard guard{state_->mutex};
  return lookup(state_->handed_out, port);
}

size_t fake_balancer::finished(uint16_t port) const {
  std::lock_guard guard{state_->mutex};
  return lookup(state_->finished, port);
}

size_t fake_balancer::failed(uint16_t port) const {
  std::lock_guard guard{state_->mutex};
  return lookup(state_->failed, port);
}

size_t fake_balancer::bad(uint16_t port) const {
  std::lock_guard guard{state_->mutex};
  return lookup(state_->bad, port);
}

size_t fake_balancer::outstanding() const {
  std::lock_guard guard{state_->mutex};
  size_t n = 0;
  for (auto& [port, count] : state_->outstanding)
    n += count;
  return n;
}

size_t fake_balancer::fresh_asks() const {
  std::lock_guard guard{state_->mutex};
  return state_->fresh;
}

size_t fake_balancer::retry_asks() const {
  std::lock_guard guard{state_->mutex};
  return state_->retries;
}

std::vector<std::string> fake_balancer::errors() const {
  std::lock_guard guard{state_->mutex};
  return state_->errors;
}

bool fake_balancer::wait_settled(std::chrono::milliseconds deadline) const {
  std::unique_lock lock{state_->mutex};
  return state_->cv.wait_for(lock, deadline, [&] {
    for (auto& [port, count] : state_->outstanding)
      if (count != 0)
        return false;
    return true;
  });
}

proxy_settings test_settings() {
  proxy_settings s;
  s.listen = {"127.0.0.1", 0};
  s.threads = 1;
  s.retries = 2;
  s.connect_timeout = 1s;
  s.backend_timeout = 5s;
  s.client_timeout = 5s;
  s.shutdown_timeout = 5s;
  return s;
}

} // namespace corral::test
