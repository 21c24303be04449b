// A deliberately raw HTTP/1.1 client over POSIX sockets, so tests can send exactly the bytes they mean (garbage included).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace acts_test {

/// A parsed HTTP response.
struct http_reply {
  int status = 0;
  std::map<std::string, std::string> headers;   ///< names in lower case
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

/// "METHOD target HTTP/1.1" with Host, Content-Length and `extra` header lines.
inline std::string request_text(std::string_view method, std::string_view target, std::string_view body = {},
                                 std::string_view extra = {}) {
  std::string text{method};
  text += " ";
  text += target;
  text += " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  text += extra;
  if (!body.empty() || method == "POST")
    text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  text += "\r\n";
  text += body;
  return text;
}

/// One TCP connection to 127.0.0.1:port.
class http_connection {
public:
  explicit http_connection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
      throw std::runtime_error("cannot connect to port " + std::to_string(port));
    // Bound every blocking send, so a server that stops reading fails the test instead of hanging it.
    timeval timeout{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  }
  ~http_connection() { ::close(fd_); }
  http_connection(const http_connection&) = delete;
  http_connection& operator=(const http_connection&) = delete;

  /// Sends all bytes; false when the peer closed or the send timed out.
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0)
        return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  /// Reads one response (Content-Length delimited, or up to EOF without
  /// one); nothing when the connection ends or `timeout` passes first.
  std::optional<http_reply> read_reply(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t header_end;
    while ((header_end = pending_.find("\r\n\r\n")) == std::string::npos)
      if (!fill(deadline))
        return std::nullopt;
    http_reply reply;
    std::string_view head{pending_.data(), header_end};
    auto line_end = head.find("\r\n");
    auto status_line = head.substr(0, line_end);
    if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/")
      return std::nullopt;
    reply.status = std::stoi(std::string{status_line.substr(9, 3)});
    while (line_end != std::string_view::npos) {
      head.remove_prefix(line_end + 2);
      line_end = head.find("\r\n");
      auto line = head.substr(0, line_end);
      auto colon = line.find(':');
      if (colon == std::string_view::npos)
        continue;
      std::string name{line.substr(0, colon)};
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      auto value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ')
        value.remove_prefix(1);
      reply.headers[name] = std::string{value};
    }
    pending_.erase(0, header_end + 4);
    bool informational = reply.status / 100 == 1;
    bool bodiless = informational || reply.status == 204 || reply.status == 304;
    if (auto length = reply.header("content-length"); !length.empty() && !bodiless) {
      auto size = std::stoull(length);
      while (pending_.size() < size)
        if (!fill(deadline))
          return std::nullopt;
      reply.body = pending_.substr(0, size);
      pending_.erase(0, size);
    } else if (!bodiless) {
      while (fill(deadline)) {
      }
      reply.body = std::move(pending_);
      pending_.clear();
    }
    return reply;
  }

  /// Whether the server closes the connection within `timeout`.
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (fill(deadline)) {
    }
    return eof_;
  }

private:
  // Reads more bytes into pending_; false on EOF, error or deadline.
  bool fill(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return false;
    char buffer[65536];
    auto n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    pending_.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string pending_;
  bool eof_ = false;
};

/// Sends one request on a fresh connection and reads the reply.
inline std::optional<http_reply> http_call(int port, std::string_view method, std::string_view target,
                                           std::string_view body = {}) {
  http_connection connection{port};
  if (!connection.send(request_text(method, target, body, "Connection: close\r\n")))
    return std::nullopt;
  return connection.read_reply();
}

} // namespace acts_test
