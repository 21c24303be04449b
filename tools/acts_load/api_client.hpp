// acts-load's view of the Acts API: paths under one loopback base URL, JSON bodies, failures worded in full.
#pragma once

#include "tools/common/http_client.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace acts_load {

/// The outcome of one request: the shared client's response, whose `detail`
/// is libcurl's full message when no response arrived.
using http_result = corral::http::response;

/// Sends requests to one base URL over a reused keep-alive connection
/// (corral::http::client). Not thread-safe.
class api_client {
public:
  /// `base_url` like "http://127.0.0.1:8080" (no trailing slash; see
  /// corral::http::loopback_base_url).
  explicit api_client(std::string base_url);

  /// Sends `method` to base_url + `path`, with a JSON body when given.
  corral::http::response request(std::string_view method, std::string_view path,
                                 std::optional<std::string_view> body = {});

private:
  std::string base_url_;
  corral::http::client http_;
};

} // namespace acts_load
