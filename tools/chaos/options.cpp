// Parsing of the chaos tool's command line (see options.hpp).
#include "tools/chaos/options.hpp"

#include "app/units.hpp"

#include <charconv>
#include <cmath>
#include <functional>
#include <map>

namespace corral::chaos {

const std::string_view usage_text =
  "usage: chaos [options]\n"
  "Under a steady GET load through corral's proxy, kills random ready containers of the\n"
  "pool (SIGKILL through Docker) and optionally crashes others (POST /api/v1/_crash),\n"
  "then waits for the pool to be whole again and prints what the clients saw and how\n"
  "long detection and replacement took. Traffic goes to loopback only.\n"
  "\n"
  "  --proxy HOST:PORT        corral's proxy                     (127.0.0.1:8080)\n"
  "  --admin HOST:PORT        corral's admin endpoint            (127.0.0.1:9090)\n"
  "  --pool NAME              the pool (label corral.pool)       (acts)\n"
  "  --docker-socket PATH     the Docker Engine API socket       (/var/run/docker.sock)\n"
  "  --duration D             how long faults are injected       (60s)\n"
  "  --kill-every D           one SIGKILL per D, 0 for none      (3s)\n"
  "  --crash-every D          one POST /api/v1/_crash per D      (0: none)\n"
  "  --load-threads N         load threads, one connection each  (4)\n"
  "  --load-path PATH         what the load GETs                 (/api/v1/categories)\n"
  "  --load-rate R            requests/s over all threads        (0: as fast as possible)\n"
  "  --health-path PATH       every container must answer it at\n"
  "                           the end with a 2xx                 (/api/v1/_health)\n"
  "  --request-timeout D      a load request fails after D       (10s)\n"
  "  --poll-every D           how often /status is read          (10ms)\n"
  "  --settle D               how long the pool may take to be\n"
  "                           whole, before and after the run    (15s)\n"
  "  --seed N                 seeds the choice of victims        (from the clock)\n"
  "  --json                   also print the result as one JSON line\n"
  "  --help                   this text\n"
  "Durations take ms, s, m or h (\"500ms\", \"3s\"). HOST is 127.x.y.z or localhost.\n"
  "SIGINT/SIGTERM ends the faults early; the run still settles and reports (a second\n"
  "one ends chaos at once). Exit status: 0 clean run of the whole duration (no failed\n"
  "request, every fault repaired, pool whole and healthy), 1 anything else, 2 bad usage.\n";

namespace {

template <class Number>
bool parse_number(std::string_view text, Number& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size();
}

/// Applies one flag's value to `options`; returns an error message or "".
using setter = std::function<std::string(chaos_options&, std::string_view)>;

setter endpoint_setter(loopback_endpoint chaos_options::*member, std::string flag) {
  return [member, flag](chaos_options& o, std::string_view value) -> std::string {
    auto endpoint = http::parse_loopback_endpoint(value);
    if (!endpoint)
      return flag + " must be 127.x.y.z:PORT or localhost:PORT, not \"" + std::string{value}
             + "\": chaos sends traffic to loopback only";
    o.*member = *endpoint;
    return {};
  };
}

setter duration_setter(std::chrono::milliseconds chaos_options::*member, std::string flag,
                       bool allow_zero) {
  return [member, flag, allow_zero](chaos_options& o, std::string_view value) -> std::string {
    // A bare 0 reads naturally for "none" ("--crash-every 0"); every other
    // number needs its unit, as in corral's config file.
    auto d = value == "0" ? std::chrono::milliseconds{0} : corral::parse_duration(value);
    if (!d)
      return "bad value for " + flag + ": \"" + std::string{value}
             + "\" (a duration like 3s or 500ms)";
    if (!allow_zero && d->count() == 0)
      return flag + " must be longer than 0";
    o.*member = *d;
    return {};
  };
}

const std::map<std::string_view, setter>& setters() {
  static const std::map<std::string_view, setter> table{
    {"--proxy", endpoint_setter(&chaos_options::proxy, "--proxy")},
    {"--admin", endpoint_setter(&chaos_options::admin, "--admin")},
    {"--pool",
     [](chaos_options& o, std::string_view v) -> std::string {
       if (v.empty())
         return "--pool must not be empty";
       o.pool = v;
       return {};
     }},
    {"--docker-socket",
     [](chaos_options& o, std::string_view v) -> std::string {
       if (v.empty() || v.front() != '/')
         return "--docker-socket must be an absolute path";
       o.docker_socket = v;
       return {};
     }},
    {"--duration", duration_setter(&chaos_options::duration, "--duration", false)},
    {"--kill-every", duration_setter(&chaos_options::kill_every, "--kill-every", true)},
    {"--crash-every", duration_setter(&chaos_options::crash_every, "--crash-every", true)},
    {"--load-threads",
     [](chaos_options& o, std::string_view v) -> std::string {
       if (!parse_number(v, o.load_threads) || o.load_threads < 1 || o.load_threads > 256)
         return "bad value for --load-threads: \"" + std::string{v} + "\" (1 to 256)";
       return {};
     }},
    {"--load-path",
     [](chaos_options& o, std::string_view v) -> std::string {
       if (v.empty() || v.front() != '/')
         return "--load-path must start with /";
       o.load_path = v;
       return {};
     }},
    {"--load-rate",
     [](chaos_options& o, std::string_view v) -> std::string {
       if (!parse_number(v, o.load_rate) || !std::isfinite(o.load_rate) || o.load_rate < 0)
         return "bad value for --load-rate: \"" + std::string{v}
                + "\" (requests per second, 0 for as fast as possible)";
       return {};
     }},
    {"--health-path",
     [](chaos_options& o, std::string_view v) -> std::string {
       if (v.empty() || v.front() != '/')
         return "--health-path must start with /";
       o.health_path = v;
       return {};
     }},
    {"--request-timeout",
     duration_setter(&chaos_options::request_timeout, "--request-timeout", false)},
    {"--poll-every", duration_setter(&chaos_options::poll_every, "--poll-every", false)},
    {"--settle", duration_setter(&chaos_options::settle, "--settle", false)},
    {"--seed",
     [](chaos_options& o, std::string_view v) -> std::string {
       uint64_t seed = 0;
       if (!parse_number(v, seed))
         return "bad value for --seed: \"" + std::string{v} + "\"";
       o.seed = seed;
       return {};
     }},
  };
  return table;
}

} // namespace

parse_outcome parse_command_line(const std::vector<std::string_view>& args) {
  chaos_options options;
  for (size_t i = 0; i < args.size(); ++i) {
    auto flag = args[i];
    if (flag == "--help" || flag == "-h")
      return show_help{};
    if (flag == "--json") {
      options.json = true;
      continue;
    }
    std::string_view value;
    bool inline_value = false;
    if (auto eq = flag.find('='); flag.starts_with("--") && eq != std::string_view::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      inline_value = true;
    }
    auto found = setters().find(flag);
    if (found == setters().end())
      return usage_error{"unknown option " + std::string{flag}};
    if (!inline_value) {
      if (i + 1 >= args.size())
        return usage_error{"missing value for " + std::string{flag}};
      value = args[++i];
    }
    if (auto problem = found->second(options, value); !problem.empty())
      return usage_error{problem};
  }
  if (options.kill_every.count() == 0 && options.crash_every.count() == 0)
    return usage_error{"nothing to do: --kill-every and --crash-every are both 0"};
  return options;
}

} // namespace corral::chaos
