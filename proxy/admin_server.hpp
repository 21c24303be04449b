// The admin endpoint: a small HTTP server that hands GET paths to the app.
#pragma once

#include "proxy/settings.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace corral {

/// A small HTTP/1.1 server on its own io thread for /metrics, /status and
/// the like. It routes every `GET <path>` to the app's handler; any other
/// method gets 405. What the paths mean, and 404 for unknown ones, is the
/// handler's business.
class admin_server {
public:
  /// Answers one request. May be called later and from any thread (the app
  /// asks its actors); calls after the first are ignored. Dropping it
  /// without a call answers 500, and no call within 30 s answers 504.
  using reply_function = std::function<void(
    unsigned status, std::string content_type, std::string body)>;

  /// Handles `GET <path>` (the request target without its query string).
  /// Runs on the admin io thread and must not block: it starts the work and
  /// returns; `reply` delivers the answer whenever it is ready.
  using handler_function
    = std::function<void(std::string_view path, reply_function reply)>;

  /// Prepares the server; nothing is bound or started yet.
  admin_server(admin_settings settings, handler_function handler);

  admin_server(const admin_server&) = delete;
  admin_server& operator=(const admin_server&) = delete;

  /// Shuts down if still running.
  ~admin_server();

  /// Binds settings.listen (or takes over the listening socket
  /// `inherited_fd`) and starts the io thread. Throws std::runtime_error
  /// when binding fails ("cannot listen on 127.0.0.1:9090: address already
  /// in use").
  void start(int inherited_fd = -1);

  /// The listening socket, to hand over to a successor; -1 before start().
  int listen_fd() const;

  /// Stops accepting, drops open connections and joins the io thread.
  /// Replies arriving afterwards are ignored. Idempotent.
  void shutdown();

  /// The bound port; valid after start().
  uint16_t port() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace corral
