// corral running a pool of three Acts containers for the workload and browser
// tests, plus the small request builders those tests share.
#pragma once

#include "tests/support/harness.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace corral::test {

/// corral with exactly three acts:latest containers on one test's ports.
/// min = max = 3, so the autoscaler never changes the pool under a test and
/// container ids stay comparable. Destroying it stops corral and removes the
/// pool's containers and volume (corral_process does that).
class acts_pool {
public:
  /// The containers every pool has.
  static constexpr uint16_t size = 3;

  /// A pool named unique_name(`prefix`) on the 20 ports from `port_base`;
  /// `health` is appended to the [health] section (e.g. "unhealthy_after = 2\n").
  acts_pool(const std::string& prefix, uint16_t port_base, const std::string& health = {});

  /// Starts corral and waits until all three containers are ready. Returns
  /// an empty string on success, else what went wrong with corral's log.
  std::string start();

  /// Stops corral (SIGTERM) and returns its exit status.
  int stop() {
    return corral_.stop();
  }

  corral_process& corral() {
    return corral_;
  }
  const test_ports& ports() const {
    return ports_;
  }
  const std::string& name() const {
    return name_;
  }
  /// The containers' own ports, ascending.
  std::vector<uint16_t> container_ports() const;
  /// "http://127.0.0.1:<proxy port>".
  std::string proxy_base() const {
    return ports_.proxy_url("");
  }

  /// One request through corral's proxy on a keep-alive connection, so that
  /// consecutive requests go round robin over the containers.
  http_response proxy(const std::string& method, const std::string& path,
                      const std::string& body = {}, const std::vector<std::string>& headers = {});

  /// One request straight to the container on `port`, past corral.
  http_response direct(uint16_t port, const std::string& method, const std::string& path,
                       const std::string& body = {});

  /// Waits until every container answers /api/v1/_health with 200 directly
  /// and /status shows all three ready; false after `deadline`.
  bool all_healthy(std::chrono::milliseconds deadline);

private:
  std::string name_;
  test_ports ports_;
  corral_process corral_;
  http_client proxy_client_;
  http_client direct_client_;
};

// -- Acts request bodies -----------------------------------------------------------------

/// A timestamp the API accepts ("DD-MM-YYYY:SS-MM-HH"): 2024-03-`day`, 12:00:`second`.
std::string act_timestamp(int day, int second = 0);

/// Standard padded base64 (RFC 4648 §4).
std::string base64(std::string_view bytes);

/// `n` pseudo-random bytes from `seed`: image payloads the service stores as they are.
std::string random_bytes(std::size_t n, uint64_t seed);

/// The body of POST /api/v1/users for `name` with a valid SHA-1 password digest.
std::string user_body(const std::string& name);

/// The body of POST /api/v1/categories for `name`.
std::string category_body(const std::string& name);

/// The body of POST /api/v1/acts.
std::string act_body(int64_t act_id, const std::string& user, const std::string& category,
                     const std::string& caption, const std::string& image_b64,
                     const std::string& timestamp = act_timestamp(1));

/// Parses a JSON answer; null when it is not JSON.
boost::json::value parse_json(const std::string& body);

/// Percent-encodes a path segment (names may hold spaces and more): the
/// tests' name for corral::http::percent_encode.
std::string encode_segment(std::string_view text);

} // namespace corral::test
