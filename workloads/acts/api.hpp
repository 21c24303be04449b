// The Acts HTTP API as a function from request to response, free of sockets and of Beast.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "workloads/acts/store.hpp"

namespace acts {

/// The parts of an HTTP request the API looks at.
struct api_request {
  std::string_view method;   ///< "GET", "POST", ... as sent
  std::string_view target;   ///< origin-form: path and optional query
  std::string_view body;
};

/// What the server sends back. An empty `content_type` sends none (204).
struct api_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string allow;         ///< the Allow header of a 405, else empty
};

/// The Acts API: routes a request, validates it, reads or writes the store
/// and renders the answer. Also holds the per-process state the
/// orchestrator's tests probe: the crashed flag and the request counter.
/// Safe to call from several threads at once.
class api {
public:
  /// Serves from `stores`, which must outlive the api.
  explicit api(store_pool& stores);

  /// Answers one request. Never throws: a database failure is a 500 (a 503
  /// when another process held the write lock too long).
  api_response handle(const api_request& request);

  /// Requests counted so far (every request except _health and _count).
  std::uint64_t served() const { return served_.load(); }

  /// Whether POST /api/v1/_crash was received.
  bool crashed() const { return crashed_.load(); }

private:
  struct route;
  api_response dispatch(const api_request& request);

  api_response get_page(const api_request&, const std::vector<std::string>&);
  api_response get_health(const api_request&, const std::vector<std::string>&);
  api_response post_crash(const api_request&, const std::vector<std::string>&);
  api_response get_count(const api_request&, const std::vector<std::string>&);
  api_response delete_count(const api_request&, const std::vector<std::string>&);
  api_response get_categories(const api_request&, const std::vector<std::string>&);
  api_response post_category(const api_request&, const std::vector<std::string>&);
  api_response delete_category(const api_request&, const std::vector<std::string>&);
  api_response get_category_acts(const api_request&, const std::vector<std::string>&);
  api_response get_category_size(const api_request&, const std::vector<std::string>&);
  api_response post_act(const api_request&, const std::vector<std::string>&);
  api_response post_upvote(const api_request&, const std::vector<std::string>&);
  api_response delete_act(const api_request&, const std::vector<std::string>&);
  api_response get_act_count(const api_request&, const std::vector<std::string>&);
  api_response get_users(const api_request&, const std::vector<std::string>&);
  api_response post_user(const api_request&, const std::vector<std::string>&);
  api_response delete_user(const api_request&, const std::vector<std::string>&);

  store_pool& stores_;
  std::atomic<bool> crashed_{false};
  std::atomic<std::uint64_t> served_{0};
};

} // namespace acts
