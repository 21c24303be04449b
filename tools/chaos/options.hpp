// The chaos tool's command line: what to attack, how hard and for how long.
#pragma once

#include "tools/common/http_client.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace corral::chaos {

/// A host:port on loopback; the rule is tools/common's, so that chaos and
/// acts-load refuse the same addresses.
using http::loopback_endpoint;

/// Everything one chaos run is configured with.
struct chaos_options {
  /// corral's reverse proxy, where the load goes.
  loopback_endpoint proxy{"127.0.0.1", 8080};
  /// corral's admin endpoint, whose GET /status tells which slots are ready.
  loopback_endpoint admin{"127.0.0.1", 9090};
  /// The pool's name (label corral.pool); corral must report the same name.
  std::string pool = "acts";
  /// The Docker Engine API socket, for killing containers.
  std::string docker_socket = "/var/run/docker.sock";
  /// How long faults are injected.
  std::chrono::milliseconds duration{std::chrono::seconds(60)};
  /// One SIGKILL every this long; 0 disables killing.
  std::chrono::milliseconds kill_every{std::chrono::seconds(3)};
  /// One POST /api/v1/_crash every this long; 0 disables crashing.
  std::chrono::milliseconds crash_every{0};
  /// Threads sending GETs through the proxy, each on its own keep-alive connection.
  unsigned load_threads = 4;
  /// The path every load request GETs.
  std::string load_path = "/api/v1/categories";
  /// Requests per second over all threads; 0: every thread as fast as it can.
  double load_rate = 0;
  /// What each container must answer with a 2xx at the end of the run.
  std::string health_path = "/api/v1/_health";
  /// A load request without a complete answer after this long fails.
  std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};
  /// How often /status is read; the granularity of every measured time.
  std::chrono::milliseconds poll_every{10};
  /// How long the pool may take to be whole again, before and after the run.
  std::chrono::milliseconds settle{std::chrono::seconds(15)};
  /// Seeds the choice of victims; drawn from the clock when not given.
  std::optional<uint64_t> seed;
  /// Also print the result as one JSON line.
  bool json = false;
};

/// The usage text `--help` prints.
extern const std::string_view usage_text;

/// What the command line asked for: a run, the help text, or an error to
/// print before exiting with status 2.
struct show_help {};
struct usage_error {
  std::string message;
};
using parse_outcome = std::variant<chaos_options, show_help, usage_error>;

/// Parses the arguments after the program name. Accepts `--flag value` and
/// `--flag=value`; refuses any address that is not loopback.
parse_outcome parse_command_line(const std::vector<std::string_view>& args);

} // namespace corral::chaos
