// A plain blocking HTTP client for acts-load, over libcurl, limited to loopback.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace acts_load {

/// The outcome of one request: a status and body, or a transport error.
struct http_result {
  long status = 0;           ///< 0 when no response arrived
  std::string body;
  std::string error;         ///< why no response arrived, else empty

  /// Whether a response arrived at all.
  bool answered() const { return status != 0; }
};

/// Sends requests to one base URL over a reused keep-alive connection.
/// Not thread-safe.
class http_client {
public:
  /// `base_url` like "http://127.0.0.1:8080" (no trailing slash).
  explicit http_client(std::string base_url);
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Sends `method` to base_url + `path`, with a JSON body when given.
  http_result request(std::string_view method, std::string_view path, std::optional<std::string_view> body = {});

private:
  std::string base_url_;
  void* curl_ = nullptr;
};

/// Checks that `url` is "http://127.0.0.1[:port]" or "http://localhost[:port]"
/// (optionally with a trailing slash) and returns it without the slash; acts-load
/// never sends traffic anywhere else.
std::optional<std::string> loopback_base_url(std::string_view url);

} // namespace acts_load
