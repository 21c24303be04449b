// Helpers for runtime tests against the real daemon: container specs for the
// http-hello test image, cleanup that also runs on failure, polling.
#pragma once

#include "runtime/container_runtime.hpp"
#include "tests/support/docker_env.hpp"
#include "tools/common/http_client.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace corral::test {

/// The image tests/support/images/http-hello.cpp becomes (scripts/build-images).
inline constexpr const char* hello_image = "corral-test-http-hello:latest";

/// Tracks what a test creates in the engine and removes it when the test
/// ends, passed or failed: containers first (force), then their volumes.
class docker_scratch {
public:
  explicit docker_scratch(container_runtime& runtime)
    : runtime_(runtime), pool_(unique_name("corral-rt")) {
  }

  ~docker_scratch() {
    for (const auto& name : containers_)
      runtime_.remove(name, true);
    for (const auto& name : volumes_)
      runtime_.remove_volume(name);
  }

  docker_scratch(const docker_scratch&) = delete;
  docker_scratch& operator=(const docker_scratch&) = delete;

  /// This test's pool label value; unique per test run.
  const std::string& pool() const { return pool_; }

  /// The labels every container of this test's pool carries.
  std::map<std::string, std::string> pool_labels() const {
    return {{labels::pool, pool_}};
  }

  /// A spec for an http-hello container on `port` in this test's pool, with
  /// a unique name that is removed at the end of the test.
  container_spec hello_spec(uint16_t port) {
    container_spec spec;
    spec.name = pool_ + "-" + std::to_string(port);
    spec.image = hello_image;
    spec.port = port;
    spec.labels = {{labels::pool, pool_},
                   {labels::port, std::to_string(port)},
                   {labels::owner, "runtime-test"}};
    spec.stop_timeout = std::chrono::seconds{5};
    track_container(spec.name);
    return spec;
  }

  /// Removes this container (by name or id) at the end of the test.
  void track_container(std::string name) {
    containers_.push_back(std::move(name));
  }

  /// Removes this volume at the end of the test, after the containers.
  void track_volume(std::string name) { volumes_.push_back(std::move(name)); }

private:
  container_runtime& runtime_;
  std::string pool_;
  std::vector<std::string> containers_;
  std::vector<std::string> volumes_;
};

/// Polls `done` every 5 ms until it holds or `timeout` passed.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done())
      return true;
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
}

/// One `GET /` to 127.0.0.1:`port` within a second; the status code, 0 when
/// nothing answered.
inline int http_get_status(uint16_t port) {
  corral::http::client client;
  auto answer = client.get("http://127.0.0.1:" + std::to_string(port) + "/",
                           std::chrono::seconds{1});
  return static_cast<int>(answer.status);
}

} // namespace corral::test
