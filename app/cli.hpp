// corral's command line: what to do, and with which config file.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace corral {

/// What the command line asks for.
struct cli_options {
  enum class action { run, check_config, help, version };
  action what = action::run;
  /// Empty: run with the built-in defaults.
  std::string config_path;
  /// Take the pool over from the corral running it (a zero-downtime
  /// upgrade), instead of refusing to start.
  bool takeover = false;
};

/// Parses the arguments after the program name. Returns the options, or a
/// message for a usage error.
std::variant<cli_options, std::string> parse_cli(const std::vector<std::string_view>& args);

/// The --help text.
std::string usage_text();

/// The --version line.
std::string version_text();

} // namespace corral
