// acts-load's requests over the shared HTTP client (see api_client.hpp).
#include "tools/acts_load/api_client.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace acts_load {

namespace {

// A dead service refuses at once on loopback; a connect that hangs means a
// full accept queue, and five seconds of that is reason enough to retry.
constexpr std::chrono::milliseconds connect_timeout{5'000};

// Uploads of megabyte images through corral to a busy service can take long.
constexpr std::chrono::milliseconds request_timeout{60'000};

} // namespace

api_client::api_client(std::string base_url) : base_url_{std::move(base_url)}, http_{connect_timeout} {
}

corral::http::response api_client::request(std::string_view method, std::string_view path,
                                           std::optional<std::string_view> body) {
  std::vector<std::string> headers;
  if (body)
    headers.emplace_back("Content-Type: application/json");
  return http_.request(method, base_url_ + std::string{path}, body.value_or(std::string_view{}), headers,
                       request_timeout);
}

} // namespace acts_load
