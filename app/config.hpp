// corral's configuration: every setting, its default, and the TOML loader
// that validates a file before corral touches Docker.
#pragma once

#include "actors/settings.hpp"
#include "log/log.hpp"
#include "proxy/settings.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace corral {

/// [docker]: how corral reaches the engine.
struct docker_settings {
  std::string socket = "/var/run/docker.sock";
};

/// Everything one TOML file configures. Default-constructed = the defaults
/// conf/corral.toml documents.
struct config {
  proxy_settings proxy;
  admin_settings admin;
  pool_settings pool;
  health_settings health;
  restart_settings restart;
  scaling_settings scaling;
  rollout_settings rollout;
  /// [proxy] queue_timeout and queue_max (the balancer applies them).
  queue_settings queue;
  docker_settings docker;
  /// [log] level and format.
  log::level log_level = log::level::info;
  log::format log_format = log::format::text;
};

/// Why a config file was rejected, and where.
struct config_error {
  std::string file;
  /// 1-based position of the offending key or value; 0 when unknown.
  uint32_t line = 0;
  uint32_t column = 0;
  /// "[section] key", or empty for file-level problems.
  std::string key;
  std::string message;

  /// One line: `file:line:column: [section] key: message`.
  std::string render() const;
};

/// A loaded config or the first error found in it.
using config_result = std::variant<config, config_error>;

/// Parses and validates TOML text; `file` names it in errors.
config_result parse_config(std::string_view text, const std::string& file);

/// Reads, parses and validates a file.
config_result load_config(const std::string& path);

/// The keys whose change a running corral cannot apply (listen addresses,
/// the pool's name and first port, the io threads and max_connections, the
/// run directory, the Docker socket), as "[section] key", for a reload to
/// refuse in one line.
std::vector<std::string> restart_only_changes(const config& running, const config& loaded);

} // namespace corral
