// Parses corral's few command-line options.
#include "app/cli.hpp"

#include <optional>

#ifndef CORRAL_VERSION
#  define CORRAL_VERSION "0.0.0"
#endif

namespace corral {

namespace {

/// Reads the file given to `flag` as "--flag FILE" or "--flag=FILE"; advances
/// `i` past a separate value. Nullopt when the file is missing.
std::optional<std::string> file_argument(const std::vector<std::string_view>& args, size_t& i,
                                         std::string_view flag) {
  auto arg = args[i];
  if (arg.size() > flag.size() && arg[flag.size()] == '=') {
    auto value = arg.substr(flag.size() + 1);
    return value.empty() ? std::nullopt : std::optional<std::string>{value};
  }
  if (i + 1 >= args.size() || args[i + 1].empty())
    return std::nullopt;
  return std::string{args[++i]};
}

bool is_flag(std::string_view arg, std::string_view flag) {
  return arg == flag || (arg.starts_with(flag) && arg.size() > flag.size()
                         && arg[flag.size()] == '=');
}

} // namespace

std::variant<cli_options, std::string> parse_cli(const std::vector<std::string_view>& args) {
  cli_options opts;
  bool version = false;
  bool check = false;
  for (size_t i = 0; i < args.size(); ++i) {
    auto arg = args[i];
    if (arg == "--help" || arg == "-h") {
      opts.what = cli_options::action::help;
      return opts; // help wins over everything else
    }
    if (arg == "--version") {
      version = true;
      continue;
    }
    if (arg == "--takeover") {
      opts.takeover = true;
      continue;
    }
    bool config = is_flag(arg, "--config");
    if (!config && !is_flag(arg, "--check-config"))
      return "unknown argument \"" + std::string{arg} + "\"";
    auto flag = config ? std::string_view{"--config"} : std::string_view{"--check-config"};
    auto file = file_argument(args, i, flag);
    if (!file)
      return std::string{flag} + " needs a file";
    if (!opts.config_path.empty())
      return std::string{"only one config file may be given"};
    opts.config_path = std::move(*file);
    check = check || !config;
  }
  if (version && check)
    return std::string{"--version cannot be combined with --check-config"};
  if (opts.takeover && (version || check))
    return std::string{"--takeover runs corral; it cannot be combined with --version or --check-config"};
  if (version)
    opts.what = cli_options::action::version;
  else if (check)
    opts.what = cli_options::action::check_config;
  return opts;
}

std::string usage_text() {
  return "usage: corral [--config FILE] [--takeover]\n"
         "       corral --check-config FILE\n"
         "       corral --help | --version\n"
         "\n"
         "Keeps a pool of containers of one image running on consecutive ports\n"
         "of 127.0.0.1, load-balances HTTP across the ready ones in round robin,\n"
         "replaces containers that die or fail their health check, and scales\n"
         "the pool with the request rate.\n"
         "\n"
         "  --config FILE        run with this TOML file (without it: the defaults\n"
         "                       that conf/corral.toml documents)\n"
         "  --takeover           take the pool, the listening sockets and the\n"
         "                       containers over from the corral running the pool\n"
         "                       (an upgrade without an outage): it stops once this\n"
         "                       one serves\n"
         "  --check-config FILE  validate FILE and exit (0 valid, 2 invalid)\n"
         "  --help               show this text\n"
         "  --version            show the version\n"
         "\n"
         "SIGHUP re-reads the config file and applies it without a restart.\n"
         "\n"
         "Exit status: 0 after a clean shutdown (SIGINT/SIGTERM) or a handover,\n"
         "1 when Docker, the image, a listen address or the pool (another corral\n"
         "manages it) is unusable, 2 for a bad config or usage.\n";
}

std::string version_text() {
  return "corral " CORRAL_VERSION "\n";
}

} // namespace corral
