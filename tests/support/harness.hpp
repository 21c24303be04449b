// Integration-test harness: the real corral binary with a pool of its own,
// real HTTP on loopback (tools/common/http_client), the real Docker daemon,
// and polling with deadlines instead of sleeps.
#pragma once

#include "runtime/container_runtime.hpp"
#include "tools/common/admin_status.hpp"
#include "tools/common/http_client.hpp"
#include "tools/common/load.hpp"

#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace corral::test {

using namespace std::chrono_literals;

/// Polls `ok` every `step` until it is true (returns true) or `deadline`
/// passed (returns false).
bool wait_until(std::chrono::milliseconds deadline, const std::function<bool()>& ok,
                std::chrono::milliseconds step = 20ms);

// -- HTTP --------------------------------------------------------------------------

/// One HTTP answer, or why there was none: status 0 and libcurl's reason in
/// `error` when none arrived; `headers` by lower-cased name.
using http_response = corral::http::response;

/// A keep-alive HTTP client for one thread (one libcurl easy handle).
using http_client = corral::http::client;

/// One request on a fresh connection.
http_response http(const std::string& method, const std::string& url,
                   const std::string& body = {}, const std::vector<std::string>& headers = {},
                   std::chrono::milliseconds timeout = 10s);

/// Parses the body of an Acts `[n]` answer; -1 when it is not one.
int64_t json_count(const std::string& body);

/// The value of one series in a Prometheus text document, written exactly
/// as corral writes it (`corral_probes_total{port="8000",result="ok"}`, or a
/// bare name); nullopt when the document has no such series.
std::optional<double> metric_value(const std::string& text, const std::string& series);

/// The sum of every series of `name` whose labels include all of `labels`
/// (each written `key="value"`), e.g. ("corral_actor_messages_total",
/// {"role=\"balancer\""}); 0 when none matches.
double metric_sum(const std::string& text, const std::string& name,
                  const std::vector<std::string>& labels = {});

// -- load -----------------------------------------------------------------------------

/// What a load generator saw: sent, ok, failures by kind ("status 502",
/// "status 503", "no response: ..."), failed() and summary().
using load_result = http::load_counts;

/// Sends GETs to `url` from `threads` threads, each waiting `pause` between
/// requests, from construction until stopped: tools/common's load, which the
/// chaos tool sends too. A 2xx counts as ok; anything else fails.
class load_generator {
public:
  load_generator(std::string url, unsigned threads, std::chrono::milliseconds pause);

  /// Stops the threads and returns what they saw.
  load_result stop() {
    return load_.stop();
  }

  /// Requests finished so far, answered or not (any thread).
  uint64_t answered() const {
    return load_.finished();
  }

private:
  http::load_generator load_;
};

// -- Docker -----------------------------------------------------------------------------

/// The containers labelled corral.pool=`pool`, as the daemon lists them.
std::vector<container_info> pool_containers(const std::string& pool);

/// Names of the running containers of `pool`, sorted.
std::vector<std::string> running_names(const std::string& pool);

/// Removes every container of `pool` and, when given, `volume`.
void remove_pool(const std::string& pool, const std::string& volume = {});

/// Sends SIGKILL to a container through the daemon (what `docker kill` does).
bool docker_kill(const std::string& name_or_id);

/// How many `event` events (create, start, die, ...) Docker recorded for the
/// pool's containers since `since` (unix seconds, fractions allowed) until
/// now, from `docker events`; -1 when it cannot tell.
int pool_events_since(const std::string& pool, double since, const std::string& event);

/// Unix seconds now, with fractions, as `docker events --since` takes them.
double unix_seconds();

/// Runs a shell command; its exit status (-1 when it could not run).
int shell(const std::string& command);

// -- corral ------------------------------------------------------------------------------

/// The ports one test uses: proxy, admin and the pool's start port. Each
/// test takes its own `base` so tests never share a port.
struct test_ports {
  uint16_t proxy;
  uint16_t admin;
  uint16_t pool_start;

  /// proxy = base, admin = base + 1, pool from base + 10.
  static test_ports from_base(uint16_t base) {
    return {base, static_cast<uint16_t>(base + 1), static_cast<uint16_t>(base + 10)};
  }

  std::string proxy_url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(proxy) + path;
  }
  std::string admin_url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(admin) + path;
  }
  std::string container_url(uint16_t port, const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port) + path;
  }
};

/// A config for a test pool: `pool` named and labelled, its own volume
/// (`<pool>-data`), the given ports, acts:latest, quick health checks, then
/// `extra` TOML appended (which may override sections' keys only by adding
/// keys the base leaves out; put whole sections there).
std::string test_config(const std::string& pool, const test_ports& ports,
                        const std::string& pool_extra = {}, const std::string& extra = {});

/// A slot as /status shows it (port, state, container, restarts, ...), read
/// by the same parser as the chaos tool's.
using slot_view = admin::slot_view;

/// The corral binary running one test's pool. The destructor kills a corral
/// still running and removes the pool's containers and volume, so a failing
/// test leaves nothing behind.
class corral_process {
public:
  /// `toml` is the whole config; `pool` and `volume` name what to clean up.
  /// `instance` tells apart two corral processes of one pool (a takeover, a
  /// second corral): each has its own config and log file.
  corral_process(std::string pool, std::string toml, test_ports ports,
                 std::string volume = {}, std::string instance = {});
  ~corral_process();
  corral_process(const corral_process&) = delete;
  corral_process& operator=(const corral_process&) = delete;

  /// Launches corral (with `args` after --config FILE, e.g. --takeover);
  /// true once its admin endpoint answers. May be called again after it
  /// exited or was killed: a restart.
  bool start(std::chrono::milliseconds deadline = 20s, std::vector<std::string> args = {});

  /// Starts with the open-file limit (soft and hard) set to `limit`, as a
  /// host with a low limit would: corral can raise the soft one no further.
  void limit_open_files(uint64_t limit) {
    open_files_ = limit;
  }

  /// SIGKILL, as a crash would end it; waits for the process to be gone.
  void kill9();

  /// Sends `sig` (SIGHUP for a reload).
  void signal(int sig);

  /// Replaces the config file (for a reload).
  void rewrite_config(const std::string& toml);

  /// The process id; -1 before start().
  pid_t pid() const {
    return pid_;
  }

  /// Sends SIGTERM and waits for the exit; returns the exit status, or -1
  /// when corral had to be killed after `deadline`.
  int stop(std::chrono::milliseconds deadline = 30s);

  /// Waits for corral to exit by itself; returns the exit status or -1.
  int wait_exit(std::chrono::milliseconds deadline);

  /// True while the process runs.
  bool running();

  /// Everything corral wrote to stderr so far.
  std::string log() const;

  /// GET /status, parsed; null when it does not answer.
  boost::json::value status();

  /// GET /metrics; empty when it does not answer.
  std::string metrics();

  /// The slots from /status; empty when it does not answer, or answers with
  /// a document that is not corral's /status (which also fails the test once,
  /// rather than throwing out of a wait_until predicate).
  std::vector<slot_view> slots();

  /// Ports of the slots in state ready, ascending.
  std::vector<uint16_t> ready_ports();

  /// The container id of the slot on `port`; "" when there is no such slot
  /// or it has no container right now.
  std::string container_on(uint16_t port);

  /// Waits until exactly `ports` are ready and no other slot exists.
  bool wait_pool(const std::vector<uint16_t>& ports, std::chrono::milliseconds deadline);

  const test_ports& ports() const {
    return ports_;
  }
  const std::string& pool() const {
    return pool_;
  }

private:
  std::string pool_;
  std::string volume_;
  test_ports ports_;
  std::string config_path_;
  std::string log_path_;
  pid_t pid_ = -1;
  int exit_status_ = -1;
  uint64_t open_files_ = 0;
};

} // namespace corral::test
