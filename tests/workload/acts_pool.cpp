// A three-container Acts pool under corral, and request bodies (see acts_pool.hpp).
#include "tests/workload/acts_pool.hpp"

#include "tests/support/docker_env.hpp"
#include "tools/common/http_client.hpp"

#include <boost/json.hpp>

#include <cstdio>
#include <random>

namespace corral::test {

acts_pool::acts_pool(const std::string& prefix, uint16_t port_base, const std::string& health)
  : name_(unique_name(prefix)),
    ports_(test_ports::from_base(port_base)),
    corral_(name_,
            test_config(name_, ports_, "min_containers = 3\nmax_containers = 3\n",
                        health.empty() ? std::string{} : "[health]\n" + health),
            ports_) {
}

std::string acts_pool::start() {
  if (!corral_.start())
    return "corral did not start:\n" + corral_.log();
  if (!corral_.wait_pool(container_ports(), 30s))
    return "the pool did not get three ready containers:\n" + corral_.log();
  return {};
}

std::vector<uint16_t> acts_pool::container_ports() const {
  std::vector<uint16_t> ports;
  for (uint16_t i = 0; i < size; ++i)
    ports.push_back(static_cast<uint16_t>(ports_.pool_start + i));
  return ports;
}

http_response acts_pool::proxy(const std::string& method, const std::string& path,
                               const std::string& body, const std::vector<std::string>& headers) {
  auto all = headers;
  if (!body.empty())
    all.push_back("Content-Type: application/json");
  return proxy_client_.request(method, ports_.proxy_url(path), body, all);
}

http_response acts_pool::direct(uint16_t port, const std::string& method, const std::string& path,
                                const std::string& body) {
  std::vector<std::string> headers;
  if (!body.empty())
    headers.push_back("Content-Type: application/json");
  return direct_client_.request(method, ports_.container_url(port, path), body, headers);
}

bool acts_pool::all_healthy(std::chrono::milliseconds deadline) {
  return wait_until(deadline, [&] {
    for (auto port : container_ports())
      if (http("GET", ports_.container_url(port, "/api/v1/_health"), {}, {}, 1s).status != 200)
        return false;
    return corral_.ready_ports() == container_ports();
  });
}

// -- Acts request bodies -----------------------------------------------------------------

std::string act_timestamp(int day, int second) {
  char text[32];
  std::snprintf(text, sizeof text, "%02d-03-2024:%02d-00-12", day, second);
  return text;
}

std::string base64(std::string_view bytes) {
  static constexpr char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16 | uint32_t(uint8_t(bytes[i + 1])) << 8
                 | uint8_t(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6)
      out.push_back(alphabet[(n >> shift) & 63]);
  }
  if (auto rest = bytes.size() - i; rest > 0) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16;
    if (rest == 2)
      n |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    out.push_back(rest == 2 ? alphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string random_bytes(std::size_t n, uint64_t seed) {
  std::mt19937_64 rng{seed};
  std::string bytes(n, '\0');
  for (auto& b : bytes)
    b = static_cast<char>(rng() & 0xff);
  return bytes;
}

std::string user_body(const std::string& name) {
  // SHA-1 of "password": the service stores only a 40-hex-digit digest.
  return boost::json::serialize(boost::json::object{
    {"username", name}, {"password", "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8"}});
}

std::string category_body(const std::string& name) {
  return boost::json::serialize(boost::json::array{boost::json::string{name}});
}

std::string act_body(int64_t act_id, const std::string& user, const std::string& category,
                     const std::string& caption, const std::string& image_b64,
                     const std::string& timestamp) {
  return boost::json::serialize(boost::json::object{{"actId", act_id},
                                                    {"username", user},
                                                    {"timestamp", timestamp},
                                                    {"caption", caption},
                                                    {"categoryName", category},
                                                    {"imgB64", image_b64}});
}

boost::json::value parse_json(const std::string& body) {
  boost::system::error_code ec;
  auto value = boost::json::parse(body, ec);
  return ec ? boost::json::value{} : value;
}

std::string encode_segment(std::string_view text) {
  return corral::http::percent_encode(text);
}

} // namespace corral::test
