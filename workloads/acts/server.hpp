// The Acts HTTP/1.1 front end: a Beast listener and one session per connection.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>

#include "workloads/acts/api.hpp"

namespace acts {

class listener;

/// Accepts HTTP/1.1 connections on one endpoint and answers every request
/// with the api, keeping connections alive as the client asks. Runs on the
/// io_context's threads; each connection has its own strand, so the io_context
/// may be run by several threads, and a request blocked on the database holds
/// up only its own connection.
class http_server {
public:
  /// Binds and listens on `endpoint`. Throws boost::system::system_error when
  /// the address is taken or unavailable.
  http_server(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint, api& service);

  /// Starts accepting connections.
  void start();

  /// Stops accepting; open connections end when the io_context stops.
  void stop();

private:
  std::shared_ptr<listener> listener_;
};

} // namespace acts
