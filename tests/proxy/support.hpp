// Test helpers for the proxy: in-process backends, a blocking HTTP client
// with deadlines, and a fake balancer that counts every port report.
#pragma once

#include "proxy/proxy_server.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace corral::test {

using namespace std::chrono_literals;

/// Header fields in the order they were sent.
using header_list = std::vector<std::pair<std::string, std::string>>;

/// Looks up the first field called `name` (case-insensitive).
std::optional<std::string> find_header(const header_list& headers,
                                       std::string_view name);

/// Counts the fields called `name` (case-insensitive).
size_t count_header(const header_list& headers, std::string_view name);

/// One request as a test backend received it.
struct seen_request {
  std::string method;
  std::string target;
  unsigned version = 11;
  header_list headers;
  std::string body;
};

/// What a test backend answers.
struct backend_reply {
  unsigned status = 200;
  header_list headers;
  std::string body;
  /// Send the body chunked instead of with a Content-Length.
  bool chunked = false;
};

/// How a test backend treats the requests it reads.
enum class backend_mode {
  /// Answers with the handler's reply.
  answer,
  /// Reads the request, then never answers (a hung container).
  hang,
  /// Holds every answer until release() (a slow request, on demand).
  gate,
  /// Reads the request, then resets the connection (a crash).
  reset_after_request,
  /// Reads the request, then closes the connection without an answer.
  close_after_request,
};

/// An HTTP/1.1 keep-alive backend on 127.0.0.1, served by its own thread.
/// By default it answers 200 with header X-Backend-Port and a body that
/// echoes the request body, or "port <port>" when there is none.
class test_backend {
public:
  /// Listens on `port` (0: an ephemeral one).
  explicit test_backend(uint16_t port = 0);
  ~test_backend();

  test_backend(const test_backend&) = delete;
  test_backend& operator=(const test_backend&) = delete;

  uint16_t port() const;

  void set_mode(backend_mode mode);
  void set_handler(std::function<backend_reply(const seen_request&)> handler);

  /// Requests read so far, and a copy of each.
  size_t requests() const;
  std::vector<seen_request> seen() const;
  /// Connections accepted so far.
  size_t connections() const;

  /// Waits until `n` requests were read; false when the deadline passed.
  bool wait_for_requests(size_t n, std::chrono::milliseconds deadline = 5s);

  /// Lets the answers held in gate mode go.
  void release();

  /// Closes the listening socket and every connection, like a container
  /// that was killed. Returns once done.
  void kill();

  /// Implementation detail (public for the session class in support.cpp).
  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

/// A request for test_client.
struct client_request {
  std::string method = "GET";
  std::string target = "/";
  unsigned version = 11;
  header_list headers;
  std::string body;
  /// Send the body chunked instead of with a Content-Length.
  bool chunked = false;
};

/// A response as test_client read it.
struct client_response {
  /// False when no complete response arrived; `error` says why.
  bool ok = false;
  std::string error;
  unsigned status = 0;
  unsigned version = 0;
  header_list headers;
  std::string body;
  /// The response's keep-alive semantics (version and Connection).
  bool keep_alive = false;

  std::optional<std::string> header(std::string_view name) const {
    return find_header(headers, name);
  }
};

/// One client connection to 127.0.0.1:<port>. Every call waits at most its
/// deadline, so a hung proxy fails the test instead of hanging it.
class test_client {
public:
  explicit test_client(uint16_t port, std::chrono::milliseconds deadline = 5s);
  ~test_client();

  test_client(const test_client&) = delete;
  test_client& operator=(const test_client&) = delete;

  /// True when the connection was established.
  bool connected() const;

  /// Writes `req` and reads the response. The request is written while the
  /// response is read, so an early answer (413) arrives even while the body
  /// is still on its way.
  client_response send(const client_request& req,
                       std::chrono::milliseconds deadline = 10s);

  /// Writes raw bytes.
  bool write_raw(std::string_view bytes, std::chrono::milliseconds deadline = 5s);

  /// Writes raw bytes straight to the socket, past the client's io_context:
  /// unlike write_raw, safe from another thread while one waits in
  /// closed_by_peer() (the client is not thread-safe otherwise).
  bool send_now(std::string_view bytes);

  /// Reads one response (after write_raw).
  client_response read_response(std::chrono::milliseconds deadline = 10s,
                                bool head = false);

  /// True when the server closed the connection within the deadline (a
  /// read sees EOF or a reset) and sent nothing else.
  bool closed_by_peer(std::chrono::milliseconds deadline = 5s);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Sends one request on a fresh connection.
client_response fetch(uint16_t port, const client_request& req = {});

/// Sends `requests` GETs on each of `clients` keep-alive connections, all
/// at once from threads of their own; returns how many were answered 200.
size_t get_concurrently(uint16_t port, size_t clients, size_t requests);

/// True when a connection attempt to 127.0.0.1:<port> is refused.
bool connection_refused(uint16_t port);

/// Polls `done` until it holds or `within` has passed; true when it held.
/// For state that another thread changes (the proxy's counters, its
/// listening socket), never in place of a test's own synchronisation.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds within = 5s);

/// A port on 127.0.0.1 that refuses connections for as long as this object
/// lives: bound, so nobody else can take it, but not listening. (A port
/// merely released again may be taken by another process on a busy machine
/// before the test connects to it.)
class refusing_port {
public:
  refusing_port();
  ~refusing_port();

  refusing_port(const refusing_port&) = delete;
  refusing_port& operator=(const refusing_port&) = delete;

  uint16_t port() const {
    return port_;
  }

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  uint16_t port_ = 0;
};

/// The balancer as the proxy's tests need it: strict round robin over a
/// port list, counting every ask and report. Thread-safe; every io thread's
/// source posts its answers onto that thread's io_context.
class fake_balancer {
public:
  explicit fake_balancer(std::vector<uint16_t> ports = {});

  /// Makes the sources for a proxy_server.
  port_source_factory factory();

  /// Replaces the rotation.
  void set_ports(std::vector<uint16_t> ports);

  size_t handed_out(uint16_t port) const;
  size_t finished(uint16_t port) const;
  size_t failed(uint16_t port) const;
  /// Requests on `port` reported bad (a 5xx answer, or one that broke off).
  size_t bad(uint16_t port) const;
  /// Ports handed out and not yet reported, over all ports.
  size_t outstanding() const;
  /// Asks for fresh requests and for retries.
  size_t fresh_asks() const;
  size_t retry_asks() const;
  /// Reports of ports that were not outstanding (double reports).
  std::vector<std::string> errors() const;

  /// Waits until nothing is outstanding; false when the deadline passed.
  bool wait_settled(std::chrono::milliseconds deadline = 5s) const;

  /// Implementation detail (public for the sources in support.cpp).
  struct state;

private:
  std::shared_ptr<state> state_;
};

/// Settings for tests: an ephemeral port on 127.0.0.1, short timeouts.
proxy_settings test_settings();

} // namespace corral::test
