// Loads corral's TOML config: a schema of known keys, each with a parser that
// checks type and range, then cross-key checks. The first problem wins.
#include "app/config.hpp"

#include "app/units.hpp"
#include "runtime/docker_api.hpp"

#include <toml++/toml.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>

namespace corral {

std::string config_error::render() const {
  std::ostringstream out;
  out << file;
  if (line > 0)
    out << ':' << line << ':' << column;
  out << ": ";
  if (!key.empty())
    out << key << ": ";
  out << message;
  return out.str();
}

namespace {

/// A problem with one value; the loader adds file, position and key.
struct value_error {
  std::string message;
  /// Where inside the value (an array's element); the value's own start
  /// when unset.
  std::optional<toml::source_position> at = std::nullopt;
};

using apply_fn = std::function<std::optional<value_error>(const toml::node&, config&)>;

/// One known key: its section, name and how to store its value.
struct key_spec {
  std::string_view section;
  std::string_view key;
  apply_fn apply;
};

// -- typed readers ---------------------------------------------------------------

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    default:
      return "a date or time";
  }
}

value_error wrong_type(const toml::node& node, std::string_view wanted) {
  return {"expected " + std::string{wanted} + ", got " + type_name(node)};
}

/// "127.0.0.1:8000" or "localhost:8000" -> 8000; anything else (another
/// host, a missing or bad port) -> nothing. The proxy and the prober reach
/// backends on loopback only.
std::optional<uint16_t> parse_loopback_backend(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos)
    return std::nullopt;
  auto host = text.substr(0, colon);
  auto digits = text.substr(colon + 1);
  if (host != "127.0.0.1" && host != "localhost")
    return std::nullopt;
  if (digits.empty() || digits.size() > 5)
    return std::nullopt;
  uint32_t port = 0;
  for (char c : digits) {
    if (c < '0' || c > '9')
      return std::nullopt;
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port == 0 || port > 65535)
    return std::nullopt;
  return static_cast<uint16_t>(port);
}

template <class Setter>
apply_fn string_value(Setter set, bool allow_empty = false) {
  return [=](const toml::node& node, config& cfg) -> std::optional<value_error> {
    auto value = node.value<std::string>();
    if (!node.is_string() || !value)
      return wrong_type(node, "a string");
    if (!allow_empty && value->empty())
      return value_error{"must not be empty"};
    set(cfg, *value);
    return std::nullopt;
  };
}

template <class Setter>
apply_fn duration_value(Setter set, bool allow_zero = false) {
  return [=](const toml::node& node, config& cfg) -> std::optional<value_error> {
    if (!node.is_string())
      return wrong_type(node, "a duration string like \"1s\" or \"500ms\"");
    auto text = *node.value<std::string>();
    auto d = parse_duration(text);
    if (!d)
      return value_error{"\"" + text
                         + "\" is not a duration (use ms, s, m or h, e.g. \"500ms\")"};
    if (!allow_zero && d->count() == 0)
      return value_error{"must be longer than zero"};
    set(cfg, *d);
    return std::nullopt;
  };
}

template <class Setter>
apply_fn size_value(Setter set, bool allow_zero = false) {
  return [=](const toml::node& node, config& cfg) -> std::optional<value_error> {
    std::optional<uint64_t> bytes;
    if (node.is_integer()) {
      auto n = *node.value<int64_t>();
      if (n < 0)
        return value_error{"must not be negative"};
      bytes = static_cast<uint64_t>(n);
    } else if (node.is_string()) {
      auto text = *node.value<std::string>();
      bytes = parse_size(text);
      if (!bytes)
        return value_error{"\"" + text + "\" is not a size (e.g. \"16MiB\", \"512KiB\")"};
    } else {
      return wrong_type(node, "a size string like \"16MiB\"");
    }
    if (*bytes == 0 && !allow_zero)
      return value_error{"must be larger than zero"};
    set(cfg, *bytes);
    return std::nullopt;
  };
}

template <class Setter>
apply_fn uint_value(Setter set, int64_t lo, int64_t hi) {
  return [=](const toml::node& node, config& cfg) -> std::optional<value_error> {
    if (!node.is_integer())
      return wrong_type(node, "an integer");
    auto n = *node.value<int64_t>();
    if (n < lo || n > hi)
      return value_error{"must be between " + std::to_string(lo) + " and "
                         + std::to_string(hi) + " (got " + std::to_string(n) + ")"};
    set(cfg, n);
    return std::nullopt;
  };
}

template <class Setter>
apply_fn bool_value(Setter set) {
  return [=](const toml::node& node, config& cfg) -> std::optional<value_error> {
    if (!node.is_boolean())
      return wrong_type(node, "true or false");
    set(cfg, *node.value<bool>());
    return std::nullopt;
  };
}

/// Reads "host:port" with an IPv4 literal or "localhost" as host.
template <class Setter>
apply_fn endpoint_value(Setter set) {
  return [=](const toml::node& node, config& cfg) -> std::optional<value_error> {
    if (!node.is_string())
      return wrong_type(node, "an address string like \"127.0.0.1:8080\"");
    auto text = *node.value<std::string>();
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
      return value_error{"\"" + text + "\" is not host:port"};
    endpoint ep;
    ep.host = text.substr(0, colon);
    if (ep.host == "localhost")
      ep.host = "127.0.0.1";
    in_addr addr{};
    if (inet_pton(AF_INET, ep.host.c_str(), &addr) != 1)
      return value_error{"\"" + ep.host + "\" is not an IPv4 address"};
    auto port_text = text.substr(colon + 1);
    if (port_text.find_first_not_of("0123456789") != std::string::npos
        || port_text.size() > 5)
      return value_error{"\"" + port_text + "\" is not a port"};
    auto port = std::stoul(port_text);
    if (port < 1 || port > 65535)
      return value_error{"port must be between 1 and 65535 (got " + port_text + ")"};
    ep.port = static_cast<uint16_t>(port);
    set(cfg, ep);
    return std::nullopt;
  };
}

/// Linux capabilities by their name without CAP_, as Docker takes them.
constexpr std::string_view capability_names[] = {
  "ALL",          "AUDIT_CONTROL",  "AUDIT_READ",      "AUDIT_WRITE",     "BLOCK_SUSPEND",
  "BPF",          "CHECKPOINT_RESTORE", "CHOWN",       "DAC_OVERRIDE",    "DAC_READ_SEARCH",
  "FOWNER",       "FSETID",         "IPC_LOCK",        "IPC_OWNER",       "KILL",
  "LEASE",        "LINUX_IMMUTABLE", "MAC_ADMIN",      "MAC_OVERRIDE",    "MKNOD",
  "NET_ADMIN",    "NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW",         "PERFMON",
  "SETFCAP",      "SETGID",         "SETPCAP",         "SETUID",          "SYSLOG",
  "SYS_ADMIN",    "SYS_BOOT",       "SYS_CHROOT",      "SYS_MODULE",      "SYS_NICE",
  "SYS_PACCT",    "SYS_PTRACE",     "SYS_RAWIO",       "SYS_RESOURCE",    "SYS_TIME",
  "SYS_TTY_CONFIG", "WAKE_ALARM",
};

/// Reads an array of capability names ("NET_RAW", "cap_net_raw", "ALL"),
/// stored upper case without the CAP_ prefix; a typo is refused here rather
/// than by the engine at the first container's create.
template <class Setter>
apply_fn capabilities_value(Setter set) {
  return [=](const toml::node& node, config& cfg) -> std::optional<value_error> {
    auto* array = node.as_array();
    if (!array)
      return wrong_type(node, "an array of capability names like [\"NET_BIND_SERVICE\"]");
    std::vector<std::string> caps;
    for (auto& item : *array) {
      auto text = item.value<std::string>();
      if (!item.is_string() || !text)
        return value_error{"expected capability names (strings), got " + type_name(item)};
      std::string name;
      for (char c : *text)
        name.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
      if (name.rfind("CAP_", 0) == 0)
        name.erase(0, 4);
      if (std::find(std::begin(capability_names), std::end(capability_names), name)
          == std::end(capability_names))
        return value_error{"\"" + *text + "\" is not a Linux capability (e.g. \"NET_BIND_SERVICE\", "
                           "or \"ALL\")"};
      caps.push_back(std::move(name));
    }
    set(cfg, std::move(caps));
    return std::nullopt;
  };
}

/// Reads [pool] tmpfs: absolute paths, each optionally followed by
/// ":options" as `docker run --tmpfs` takes them ("/tmp:size=16m").
apply_fn tmpfs_value() {
  return [](const toml::node& node, config& cfg) -> std::optional<value_error> {
    auto* array = node.as_array();
    if (!array)
      return wrong_type(node, "an array of paths like [\"/tmp\"]");
    std::vector<std::string> mounts;
    for (auto& item : *array) {
      auto text = item.value<std::string>();
      if (!item.is_string() || !text)
        return value_error{"expected paths (strings), got " + type_name(item)};
      auto path = text->substr(0, text->find(':'));
      if (path.size() < 2 || path[0] != '/')
        return value_error{"\"" + *text + "\" is not an absolute path other than / (with "
                           "optional \":options\")"};
      for (auto& seen : mounts)
        if (seen.substr(0, seen.find(':')) == path)
          return value_error{path + " is listed twice"};
      mounts.push_back(*text);
    }
    cfg.pool.tmpfs = std::move(mounts);
    return std::nullopt;
  };
}

/// Reads [pool] user: "uid", "uid:gid", a name the image knows, or "" for
/// the image's USER.
apply_fn user_value() {
  return [](const toml::node& node, config& cfg) -> std::optional<value_error> {
    auto text = node.value<std::string>();
    if (!node.is_string() || !text)
      return wrong_type(node, "a string like \"65534:65534\"");
    auto part_ok = [](std::string_view part) {
      return !part.empty() && std::all_of(part.begin(), part.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
      });
    };
    std::string_view user{*text};
    auto colon = user.find(':');
    bool ok = user.empty()
              || (colon == std::string_view::npos
                    ? part_ok(user)
                    : part_ok(user.substr(0, colon)) && part_ok(user.substr(colon + 1)));
    if (!ok)
      return value_error{"\"" + *text + "\" is not a user (\"uid\", \"uid:gid\" or a name; "
                           "\"\" for the image's USER)"};
    cfg.pool.user = *text;
    return std::nullopt;
  };
}

/// Reads [pool] cpus: a number of CPUs, 0 for no limit.
apply_fn cpus_value() {
  return [](const toml::node& node, config& cfg) -> std::optional<value_error> {
    double cpus = 0;
    if (node.is_floating_point())
      cpus = *node.value<double>();
    else if (node.is_integer())
      cpus = static_cast<double>(*node.value<int64_t>());
    else
      return wrong_type(node, "a number of CPUs like 1.0 or 0.5");
    if (!(cpus == 0 || (cpus >= 0.01 && cpus <= 1024)))
      return value_error{"must be 0 (no limit) or between 0.01 and 1024"};
    cfg.pool.cpus = cpus;
    return std::nullopt;
  };
}

/// Docker's rule for container names, which corral builds as <name>-<port>
/// (the runtime refuses any other name before it reaches a URL), within
/// corral's own cap of 60 characters.
bool valid_pool_name(const std::string& name) {
  return name.size() <= 60 && docker::is_valid_object_name(name);
}

// -- the schema --------------------------------------------------------------------

const std::vector<key_spec>& schema() {
  using ms = std::chrono::milliseconds;
  static const std::vector<key_spec> keys{
    // [proxy]
    {"proxy", "listen", endpoint_value([](config& c, endpoint e) { c.proxy.listen = e; })},
    {"proxy", "max_body", size_value([](config& c, uint64_t n) { c.proxy.max_body = n; })},
    {"proxy", "retries",
     uint_value([](config& c, int64_t n) { c.proxy.retries = static_cast<uint32_t>(n); }, 0, 10)},
    {"proxy", "threads",
     uint_value([](config& c, int64_t n) { c.proxy.threads = static_cast<uint32_t>(n); }, 0, 64)},
    {"proxy", "connect_timeout",
     duration_value([](config& c, ms d) { c.proxy.connect_timeout = d; })},
    {"proxy", "backend_timeout",
     duration_value([](config& c, ms d) { c.proxy.backend_timeout = d; })},
    {"proxy", "client_timeout",
     duration_value([](config& c, ms d) { c.proxy.client_timeout = d; })},
    {"proxy", "header_timeout",
     duration_value([](config& c, ms d) { c.proxy.header_timeout = d; })},
    {"proxy", "idle_timeout",
     duration_value([](config& c, ms d) { c.proxy.idle_timeout = d; })},
    {"proxy", "max_buffered", size_value([](config& c, uint64_t n) { c.proxy.max_buffered = n; })},
    {"proxy", "shutdown_timeout",
     duration_value([](config& c, ms d) { c.proxy.shutdown_timeout = d; }, true)},
    {"proxy", "max_idle_per_backend",
     uint_value([](config& c, int64_t n) { c.proxy.max_idle_per_backend = static_cast<uint32_t>(n); },
                0, 10000)},
    {"proxy", "retry_on",
     [](const toml::node& node, config& cfg) -> std::optional<value_error> {
       auto text = node.value<std::string>();
       if (!node.is_string() || !text)
         return wrong_type(node, "\"connect\" or \"5xx\"");
       if (*text == "connect")
         cfg.proxy.retry_on_5xx = false;
       else if (*text == "5xx")
         cfg.proxy.retry_on_5xx = true;
       else
         return value_error{"must be \"connect\" or \"5xx\" (got \"" + *text + "\")"};
       return std::nullopt;
     }},
    {"proxy", "trust_forwarded",
     bool_value([](config& c, bool b) { c.proxy.trust_forwarded = b; })},
    {"proxy", "max_connections",
     uint_value([](config& c, int64_t n) { c.proxy.max_connections = static_cast<uint64_t>(n); },
                0, 10'000'000)},
    {"proxy", "queue_timeout",
     duration_value([](config& c, ms d) { c.queue.timeout = d; }, true)},
    {"proxy", "queue_max",
     uint_value([](config& c, int64_t n) { c.queue.max = static_cast<uint32_t>(n); }, 0, 1'000'000)},
    // [admin]
    {"admin", "listen", endpoint_value([](config& c, endpoint e) { c.admin.listen = e; })},
    {"admin", "token_file",
     [](const toml::node& node, config& cfg) -> std::optional<value_error> {
       auto path = node.value<std::string>();
       if (!node.is_string() || !path)
         return wrong_type(node, "a file name");
       std::ifstream in{*path};
       if (!in)
         return value_error{"cannot read " + *path};
       std::string token;
       std::getline(in, token);
       while (!token.empty() && (token.back() == '\r' || token.back() == ' '))
         token.pop_back();
       if (token.empty())
         return value_error{*path + " holds no token on its first line"};
       cfg.admin.token = std::move(token);
       return std::nullopt;
     }},
    {"admin", "max_connections",
     uint_value([](config& c, int64_t n) { c.admin.max_connections = static_cast<uint32_t>(n); },
                1, 100000)},
    // [pool]
    {"pool", "runtime",
     [](const toml::node& node, config& cfg) -> std::optional<value_error> {
       auto text = node.value<std::string>();
       if (!node.is_string() || !text)
         return wrong_type(node, "\"docker\" or \"static\"");
       if (*text == "docker")
         cfg.pool.runtime = pool_runtime::docker;
       else if (*text == "static")
         cfg.pool.runtime = pool_runtime::static_backends;
       else
         return value_error{"must be \"docker\" or \"static\" (got \"" + *text + "\")"};
       return std::nullopt;
     }},
    {"pool", "backends",
     [](const toml::node& node, config& cfg) -> std::optional<value_error> {
       auto* list = node.as_array();
       if (!list)
         return wrong_type(node, "an array like [\"127.0.0.1:8000\", \"127.0.0.1:8001\"]");
       if (list->empty())
         return value_error{"must name at least one backend"};
       std::vector<uint16_t> ports;
       for (auto&& item : *list) {
         auto text = item.value<std::string>();
         if (!item.is_string() || !text)
           return value_error{"expected \"127.0.0.1:PORT\", got " + type_name(item),
                              item.source().begin};
         auto port = parse_loopback_backend(*text);
         if (!port)
           return value_error{"\"" + *text
                                + "\" is not a loopback backend: corral balances over "
                                  "127.0.0.1:PORT (or localhost:PORT), PORT 1 to 65535",
                              item.source().begin};
         if (std::find(ports.begin(), ports.end(), *port) != ports.end())
           return value_error{"\"" + *text + "\" is listed twice", item.source().begin};
         ports.push_back(*port);
       }
       cfg.pool.backends = std::move(ports);
       return std::nullopt;
     }},
    {"pool", "name", string_value([](config& c, std::string s) { c.pool.name = std::move(s); })},
    {"pool", "image", string_value([](config& c, std::string s) { c.pool.image = std::move(s); })},
    {"pool", "start_port",
     uint_value([](config& c, int64_t n) { c.pool.start_port = static_cast<uint16_t>(n); }, 1, 65535)},
    {"pool", "min_containers",
     uint_value([](config& c, int64_t n) { c.pool.min_containers = static_cast<uint32_t>(n); }, 1, 1000)},
    {"pool", "max_containers",
     uint_value([](config& c, int64_t n) { c.pool.max_containers = static_cast<uint32_t>(n); }, 1, 1000)},
    {"pool", "env",
     [](const toml::node& node, config& cfg) -> std::optional<value_error> {
       auto* table = node.as_table();
       if (!table)
         return wrong_type(node, "a table of strings like { LOG = \"debug\" }");
       std::map<std::string, std::string> env;
       for (auto&& [key, value] : *table) {
         auto text = value.value<std::string>();
         if (!value.is_string() || !text)
           return value_error{"env." + std::string{key.str()} + ": expected a string, got "
                              + type_name(value)};
         if (key.str() == "PORT")
           return value_error{"PORT is set by corral for every container"};
         env.emplace(std::string{key.str()}, *text);
       }
       cfg.pool.env = std::move(env);
       return std::nullopt;
     }},
    {"pool", "volume",
     string_value([](config& c, std::string s) { c.pool.volume = std::move(s); }, true)},
    {"pool", "volume_path",
     string_value([](config& c, std::string s) { c.pool.volume_path = std::move(s); })},
    {"pool", "on_exit",
     [](const toml::node& node, config& cfg) -> std::optional<value_error> {
       auto text = node.value<std::string>();
       if (!node.is_string() || !text)
         return wrong_type(node, "\"remove\" or \"keep\"");
       if (*text == "remove")
         cfg.pool.on_exit = exit_policy::remove;
       else if (*text == "keep")
         cfg.pool.on_exit = exit_policy::keep;
       else
         return value_error{"must be \"remove\" or \"keep\" (got \"" + *text + "\")"};
       return std::nullopt;
     }},
    {"pool", "stop_timeout",
     duration_value([](config& c, ms d) { c.pool.stop_timeout = d; }, true)},
    {"pool", "init", bool_value([](config& c, bool b) { c.pool.init = b; })},
    {"pool", "run_dir",
     string_value([](config& c, std::string s) { c.pool.run_dir = std::move(s); })},
    {"pool", "cap_drop",
     capabilities_value([](config& c, std::vector<std::string> v) { c.pool.cap_drop = std::move(v); })},
    {"pool", "cap_add",
     capabilities_value([](config& c, std::vector<std::string> v) { c.pool.cap_add = std::move(v); })},
    {"pool", "no_new_privileges",
     bool_value([](config& c, bool b) { c.pool.no_new_privileges = b; })},
    {"pool", "read_only", bool_value([](config& c, bool b) { c.pool.read_only = b; })},
    {"pool", "tmpfs", tmpfs_value()},
    {"pool", "user", user_value()},
    {"pool", "memory", size_value([](config& c, uint64_t n) { c.pool.memory = n; }, true)},
    {"pool", "cpus", cpus_value()},
    {"pool", "pids",
     uint_value([](config& c, int64_t n) { c.pool.pids = static_cast<uint32_t>(n); }, 0, 4'194'304)},
    {"pool", "log_max_size", size_value([](config& c, uint64_t n) { c.pool.log_max_size = n; })},
    {"pool", "log_max_files",
     uint_value([](config& c, int64_t n) { c.pool.log_max_files = static_cast<uint32_t>(n); }, 1, 100)},
    // [rollout]
    {"rollout", "max_surge",
     uint_value([](config& c, int64_t n) { c.rollout.max_surge = static_cast<uint32_t>(n); }, 0, 100)},
    {"rollout", "max_unavailable",
     uint_value([](config& c, int64_t n) { c.rollout.max_unavailable = static_cast<uint32_t>(n); },
                0, 1000)},
    // [health]
    {"health", "path",
     string_value([](config& c, std::string s) { c.health.path = std::move(s); })},
    {"health", "interval", duration_value([](config& c, ms d) { c.health.interval = d; })},
    {"health", "timeout", duration_value([](config& c, ms d) { c.health.timeout = d; })},
    {"health", "unhealthy_after",
     uint_value([](config& c, int64_t n) { c.health.unhealthy_after = static_cast<uint32_t>(n); }, 1, 100)},
    {"health", "healthy_after",
     uint_value([](config& c, int64_t n) { c.health.healthy_after = static_cast<uint32_t>(n); }, 1, 100)},
    {"health", "start_interval",
     duration_value([](config& c, ms d) { c.health.start_interval = d; })},
    {"health", "start_timeout",
     duration_value([](config& c, ms d) { c.health.start_timeout = d; })},
    {"health", "passive_failures",
     uint_value([](config& c, int64_t n) { c.health.passive_failures = static_cast<uint32_t>(n); },
                0, 1000)},
    // [restart]
    {"restart", "backoff", duration_value([](config& c, ms d) { c.restart.backoff = d; })},
    {"restart", "max_backoff", duration_value([](config& c, ms d) { c.restart.max_backoff = d; })},
    // [scaling]
    {"scaling", "interval", duration_value([](config& c, ms d) { c.scaling.interval = d; })},
    {"scaling", "requests_per_container",
     uint_value([](config& c, int64_t n) { c.scaling.requests_per_container = static_cast<uint32_t>(n); },
                1, 1'000'000'000)},
    {"scaling", "start",
     [](const toml::node& node, config& cfg) -> std::optional<value_error> {
       auto text = node.value<std::string>();
       if (!node.is_string() || !text)
         return wrong_type(node, "\"first-request\" or \"startup\"");
       if (*text == "first-request")
         cfg.scaling.start = scaling_start::first_request;
       else if (*text == "startup")
         cfg.scaling.start = scaling_start::startup;
       else
         return value_error{"must be \"first-request\" or \"startup\" (got \"" + *text + "\")"};
       return std::nullopt;
     }},
    {"scaling", "drain_timeout",
     duration_value([](config& c, ms d) { c.scaling.drain_timeout = d; }, true)},
    {"scaling", "scale_down_after",
     uint_value([](config& c, int64_t n) { c.scaling.scale_down_after = static_cast<uint32_t>(n); }, 1, 1000)},
    {"scaling", "max_step",
     uint_value([](config& c, int64_t n) { c.scaling.max_step = static_cast<uint32_t>(n); }, 0, 1000)},
    // [docker]
    {"docker", "socket",
     string_value([](config& c, std::string s) { c.docker.socket = std::move(s); })},
    // [log]
    {"log", "level",
     [](const toml::node& node, config& cfg) -> std::optional<value_error> {
       auto text = node.value<std::string>();
       if (!node.is_string() || !text)
         return wrong_type(node, "\"debug\", \"info\", \"warn\" or \"error\"");
       if (!log::parse_level(*text, cfg.log_level))
         return value_error{"must be \"debug\", \"info\", \"warn\" or \"error\" (got \"" + *text
                            + "\")"};
       return std::nullopt;
     }},
    {"log", "format",
     [](const toml::node& node, config& cfg) -> std::optional<value_error> {
       auto text = node.value<std::string>();
       if (!node.is_string() || !text)
         return wrong_type(node, "\"text\" or \"json\"");
       if (!log::parse_format(*text, cfg.log_format))
         return value_error{"must be \"text\" or \"json\" (got \"" + *text + "\")"};
       return std::nullopt;
     }},
  };
  return keys;
}

/// Where each key was found, for the cross-key checks' messages.
using positions = std::map<std::string, toml::source_position>;

std::string key_label(std::string_view section, std::string_view key) {
  return "[" + std::string{section} + "] " + std::string{key};
}

config_error make_error(const std::string& file, toml::source_position pos,
                        std::string key, std::string message) {
  return {file, pos.line, pos.column, std::move(key), std::move(message)};
}

/// Checks that involve several keys; reports at the key that was set last
/// in the file, or at the file when both are defaults.
std::optional<config_error> cross_check(const config& cfg, const positions& where,
                                        const std::string& file) {
  auto at = [&](std::string_view section, std::string_view key) {
    auto i = where.find(key_label(section, key));
    return i != where.end() ? i->second : toml::source_position{0, 0};
  };
  auto fail = [&](std::string_view section, std::string_view key, std::string message) {
    return make_error(file, at(section, key), key_label(section, key), std::move(message));
  };
  const auto& pool = cfg.pool;
  if (pool.min_containers > pool.max_containers) {
    auto key = at("pool", "min_containers").line >= at("pool", "max_containers").line
                 ? "min_containers"
                 : "max_containers";
    return fail("pool", key,
                "min_containers (" + std::to_string(pool.min_containers)
                  + ") is larger than max_containers ("
                  + std::to_string(pool.max_containers) + ")");
  }
  if (pool.runtime == pool_runtime::static_backends) {
    if (pool.backends.empty())
      return fail("pool", "runtime", "runtime = \"static\" needs [pool] backends, e.g. "
                                     "[\"127.0.0.1:8000\", \"127.0.0.1:8001\"]");
    for (auto port : pool.backends) {
      if (port == cfg.proxy.listen.port)
        return fail("pool", "backends",
                    "port " + std::to_string(port) + " is the proxy's own listen port");
      if (port == cfg.admin.listen.port)
        return fail("pool", "backends",
                    "port " + std::to_string(port) + " is the admin listener's port");
    }
  } else if (!pool.backends.empty()) {
    return fail("pool", "backends",
                "backends are for runtime = \"static\"; with runtime = \"docker\" corral "
                "runs the pool's containers itself");
  }
  // The pool's ports: max_containers home ports, then the rollout's surge.
  auto last_port = uint32_t{pool.start_port} + pool.max_containers + cfg.rollout.max_surge - 1;
  if (last_port > 65535)
    return fail("pool", "max_containers",
                "ports " + std::to_string(pool.start_port) + " to " + std::to_string(last_port)
                  + " (max_containers plus [rollout] max_surge) do not fit below 65536");
  if (!valid_pool_name(pool.name))
    return fail("pool", "name",
                "\"" + pool.name
                  + "\" is not a valid container name prefix (letters, digits, '_', '.', "
                    "'-', starting with a letter or digit)");
  auto in_pool_range = [&](uint16_t port) {
    return port >= pool.start_port && uint32_t{port} <= last_port;
  };
  auto pool_ports = "the pool's ports (" + std::to_string(pool.start_port) + " to "
                    + std::to_string(last_port) + ", surge included)";
  bool docker = pool.runtime == pool_runtime::docker;
  if (docker && in_pool_range(cfg.proxy.listen.port))
    return fail("proxy", "listen",
                "port " + std::to_string(cfg.proxy.listen.port) + " lies inside " + pool_ports);
  if (docker && in_pool_range(cfg.admin.listen.port))
    return fail("admin", "listen",
                "port " + std::to_string(cfg.admin.listen.port) + " lies inside " + pool_ports);
  if (cfg.proxy.listen.port == cfg.admin.listen.port)
    return fail("admin", "listen", "the proxy and the admin endpoint cannot share a port");
  if (cfg.health.path.empty() || cfg.health.path[0] != '/')
    return fail("health", "path", "must start with '/'");
  if (!pool.volume.empty() && (pool.volume_path.empty() || pool.volume_path[0] != '/'))
    return fail("pool", "volume_path", "must be an absolute path");
  if (cfg.restart.max_backoff < cfg.restart.backoff)
    return fail("restart", "max_backoff", "must not be shorter than backoff");
  if (cfg.proxy.max_buffered < cfg.proxy.max_body)
    return fail("proxy", "max_buffered",
                "must hold at least one body of max_body (" + std::to_string(cfg.proxy.max_body)
                  + " bytes)");
  if (cfg.rollout.max_surge == 0 && cfg.rollout.max_unavailable == 0)
    return fail("rollout", at("rollout", "max_surge").line >= at("rollout", "max_unavailable").line
                             ? "max_surge"
                             : "max_unavailable",
                "max_surge and max_unavailable cannot both be 0: a rollout could never "
                "replace a container");
  if (pool.run_dir.empty() || pool.run_dir[0] != '/')
    return fail("pool", "run_dir", "must be an absolute path");
  // The engine refuses a memory limit below 6 MB at the first create.
  if (pool.memory != 0 && pool.memory < (uint64_t{6} << 20))
    return fail("pool", "memory",
                "must be 0 (no limit) or at least 6MiB, the engine's minimum (got "
                  + std::to_string(pool.memory) + " bytes)");
  if (!pool.volume.empty())
    for (auto& t : pool.tmpfs)
      if (t.substr(0, t.find(':')) == pool.volume_path)
        return fail("pool", "tmpfs",
                    pool.volume_path + " is the volume's volume_path; a tmpfs cannot mount there too");
  return std::nullopt;
}

} // namespace

config_result parse_config(std::string_view text, const std::string& file) {
  toml::table doc;
  try {
    doc = toml::parse(text, file);
  } catch (const toml::parse_error& err) {
    auto pos = err.source().begin;
    return make_error(file, pos, "", "syntax error: " + std::string{err.description()});
  }
  config cfg;
  positions where;
  std::map<std::string_view, std::vector<const key_spec*>> sections;
  for (auto& spec : schema())
    sections[spec.section].push_back(&spec);
  for (auto&& [section_key, section_node] : doc) {
    auto section_name = section_key.str();
    auto known = sections.find(section_name);
    if (known == sections.end())
      return make_error(file, section_key.source().begin, "[" + std::string{section_name} + "]",
                        "unknown section");
    auto* table = section_node.as_table();
    if (!table)
      return make_error(file, section_key.source().begin, "[" + std::string{section_name} + "]",
                        "must be a table");
    for (auto&& [key, node] : *table) {
      auto label = key_label(section_name, key.str());
      const key_spec* spec = nullptr;
      for (auto* candidate : known->second)
        if (candidate->key == key.str())
          spec = candidate;
      if (!spec)
        return make_error(file, key.source().begin, label, "unknown key");
      if (auto err = spec->apply(node, cfg))
        return make_error(file, err->at.value_or(node.source().begin), label, err->message);
      where[label] = key.source().begin;
    }
  }
  if (auto err = cross_check(cfg, where, file))
    return *err;
  return cfg;
}

std::vector<std::string> restart_only_changes(const config& running, const config& loaded) {
  std::vector<std::string> keys;
  auto differs = [](const endpoint& a, const endpoint& b) {
    return a.host != b.host || a.port != b.port;
  };
  if (differs(running.proxy.listen, loaded.proxy.listen))
    keys.push_back("[proxy] listen");
  if (running.proxy.threads != loaded.proxy.threads)
    keys.push_back("[proxy] threads");
  if (running.proxy.max_connections != loaded.proxy.max_connections)
    keys.push_back("[proxy] max_connections");
  if (differs(running.admin.listen, loaded.admin.listen))
    keys.push_back("[admin] listen");
  if (running.pool.name != loaded.pool.name)
    keys.push_back("[pool] name");
  if (running.pool.start_port != loaded.pool.start_port)
    keys.push_back("[pool] start_port");
  if (running.pool.run_dir != loaded.pool.run_dir)
    keys.push_back("[pool] run_dir");
  if (running.pool.runtime != loaded.pool.runtime)
    keys.push_back("[pool] runtime");
  if (running.docker.socket != loaded.docker.socket)
    keys.push_back("[docker] socket");
  return keys;
}

config_result load_config(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return config_error{path, 0, 0, "", "cannot open the file"};
  std::stringstream buf;
  buf << in.rdbuf();
  return parse_config(buf.str(), path);
}

} // namespace corral
