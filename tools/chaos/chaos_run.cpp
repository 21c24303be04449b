// The phases of one chaos run (see chaos_run.hpp).
#include "tools/chaos/chaos_run.hpp"

#include "app/units.hpp"
#include "log/log.hpp"
#include "runtime/docker_runtime.hpp"
#include "tools/chaos/injector.hpp"
#include "tools/chaos/run_clock.hpp"
#include "tools/chaos/status_monitor.hpp"
#include "tools/common/clock.hpp"
#include "tools/common/http_client.hpp"
#include "tools/common/load.hpp"

#include <algorithm>

namespace corral::chaos {

namespace {

using namespace std::chrono_literals;

/// The load runs this long before the first fault, so that the first fault
/// meets a steady load with its connections open, like every later one.
constexpr auto warm_up = 1s;

/// One-off requests to the admin endpoint and the containers.
constexpr auto admin_timeout = 2s;
constexpr auto health_timeout = 1s;

run_outcome failure(std::string message, int exit_code = 1) {
  run_outcome out;
  out.error = std::move(message);
  out.exit_code = exit_code;
  return out;
}

std::string pool_state(const std::optional<pool_view>& view) {
  if (!view)
    return "/status never answered";
  return std::to_string(view->ready_count()) + " of " + std::to_string(view->desired)
         + " ready, " + std::to_string(view->slots.size()) + " slots";
}

/// The pool after the run, from corral, the containers themselves and
/// Docker; `view` is the /status it was read from, when one answered.
pool_check check_pool(const chaos_options& o, http::client& http, container_runtime& docker,
                      std::optional<pool_view>& view) {
  pool_check end;
  auto answer = http.get(o.admin.url("/status"), admin_timeout);
  view = answer.status == 200 ? parse_status(answer.body) : std::nullopt;
  if (view) {
    end.answered = true;
    end.desired = view->desired;
    end.slots = view->slots.size();
    end.ready = view->ready_count();
    for (auto& slot : view->slots)
      if (http.get(loopback_endpoint{"127.0.0.1", slot.port}.url(o.health_path), health_timeout)
            .success())
        ++end.healthy;
  }
  if (auto listed = docker.list({{labels::pool, o.pool}}))
    end.running = static_cast<int>(std::count_if(
      listed->begin(), listed->end(),
      [](const container_info& c) { return c.status == container_status::running; }));
  return end;
}

/// Injects the faults of `o` for its duration, on a fixed schedule from now:
/// faults at 0, every, 2 * every, ... before the end, duration / every of each
/// kind. Returns early when `interrupted` is set.
void inject_faults(const chaos_options& o, fault_injector& injector,
                   const std::atomic<bool>& interrupted) {
  auto start = clock::now();
  auto end = start + o.duration;
  constexpr auto never = clock::time_point::max();
  auto next_kill = o.kill_every.count() > 0 ? start : never;
  auto next_crash = o.crash_every.count() > 0 ? start : never;
  while (!interrupted) {
    auto next = std::min(next_kill, next_crash);
    if (next >= end) {
      sleep_until(end, interrupted);
      return;
    }
    if (!sleep_until(next, interrupted))
      return;
    // A slow injection delays the next one, never the schedule after it.
    if (next_kill == next) {
      injector.kill_one();
      next_kill += o.kill_every;
    }
    if (next_crash == next) {
      injector.crash_one();
      next_crash += o.crash_every;
    }
  }
}

/// A report holding what the run was asked to do.
chaos_report report_of(const chaos_options& o, uint64_t seed) {
  chaos_report r;
  r.pool = o.pool;
  r.proxy = o.proxy.text();
  r.load_path = o.load_path;
  r.health_path = o.health_path;
  r.load_threads = o.load_threads;
  r.load_rate = o.load_rate;
  r.seed = seed;
  r.kill_every = o.kill_every;
  r.crash_every = o.crash_every;
  r.poll_every = o.poll_every;
  return r;
}

/// Adds what the load saw to `r`, its times relative to the run's origin.
void add_load(chaos_report& r, http::load_counts counts, const run_clock& run) {
  r.sent = counts.sent;
  r.ok = counts.ok;
  r.failures = counts.failures;
  std::sort(counts.events.begin(), counts.events.end(),
            [](const http::failure_event& a, const http::failure_event& b) {
              return a.sent < b.sent;
            });
  for (auto& e : counts.events)
    r.failure_log.push_back(
      {run.ms_since_origin(e.sent), run.ms_since_origin(e.ended), e.kind, e.detail});
}

} // namespace

run_outcome run_chaos(const chaos_options& o, const std::atomic<bool>& interrupted) {
  run_clock run{clock::now()};
  // The wall clock of the origin, to line the report's times up with other
  // logs (corral's, docker events): bench/chaos-timeline.py reads it here.
  log::info("chaos", "started; t counts seconds from origin_unix_ms",
            {run.elapsed(),
             {"pool", o.pool},
             {"origin_unix_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count()}});
  auto seed = o.seed.value_or(
    static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()));

  // -- preflight: the daemon, corral and the pool must be there -----------------
  docker_runtime docker{o.docker_socket};
  if (auto ping = docker.ping(); !ping)
    return failure(ping.error().message); // names the socket and the reason already
  http::client http;
  auto first = http.get(o.admin.url("/status"), admin_timeout);
  if (first.status == 0)
    return failure("corral's admin endpoint does not answer GET " + o.admin.url("/status")
                   + ": " + first.detail + " (is corral running, with [admin] listen = \""
                   + o.admin.text() + "\"?)");
  auto view = first.status == 200 ? parse_status(first.body) : std::nullopt;
  if (!view)
    return failure("GET " + o.admin.url("/status") + " answered " + std::to_string(first.status)
                     + " but not with corral's status document: is --admin corral's admin "
                       "endpoint?",
                   2);
  if (view->name != o.pool)
    return failure("corral at " + o.admin.text() + " runs pool \"" + view->name + "\", not \""
                     + o.pool + "\" (--pool)",
                   2);

  status_monitor monitor{o.admin.url("/status"), o.poll_every, run};
  monitor.start();
  log::info("chaos", "waiting for the pool to be whole",
            {run.elapsed(),
             {"pool", o.pool},
             {"desired", view->desired},
             {"timeout", corral::format_duration(o.settle)}});
  if (!monitor.wait_settled(false, clock::now() + o.settle, [&] { return interrupted.load(); })) {
    if (interrupted)
      return failure("interrupted before any fault was injected");
    return failure("pool " + o.pool + " is not whole: " + pool_state(monitor.latest())
                   + "; chaos starts only on a pool that is");
  }
  // A path that fails before any fault would blame every failure on the faults.
  auto probe = http.get(o.proxy.url(o.load_path), o.request_timeout);
  if (!probe.success())
    return failure("GET " + o.proxy.url(o.load_path) + " fails before any fault: "
                     + (probe.status == 0 ? probe.detail
                                          : "status " + std::to_string(probe.status))
                     + " (check --proxy and --load-path)",
                   2);

  // -- load and faults ---------------------------------------------------------------
  http::load_options load_shape;
  load_shape.url = o.proxy.url(o.load_path);
  load_shape.threads = o.load_threads;
  load_shape.rate = o.load_rate;
  load_shape.timeout = o.request_timeout;
  http::load_generator load{std::move(load_shape)};
  fault_injector injector{o, monitor, docker, run, seed};
  log::info("chaos", "load started; faults follow the warm-up",
            {run.elapsed(),
             {"threads", o.load_threads},
             {"url", o.proxy.url(o.load_path)},
             {"faults_for", corral::format_duration(o.duration)},
             {"warm_up", corral::format_duration(warm_up)},
             {"seed", seed}});
  // The proxy's counters from here on are the run's, the warm-up's included.
  // Read afresh: the monitor's latest /status may predate the probe above.
  auto fresh = http.get(o.admin.url("/status"), admin_timeout);
  auto before = fresh.status == 200 ? parse_status(fresh.body) : std::nullopt;
  load.start();
  sleep_until(clock::now() + warm_up, interrupted);

  auto inject_start = clock::now();
  inject_faults(o, injector, interrupted);
  auto inject_stop = clock::now();

  // -- settle, then stop the load --------------------------------------------------
  log::info("chaos",
            interrupted ? "fault injection interrupted; waiting for every fault to be repaired "
                          "and the pool to be whole"
                        : "fault injection over; waiting for every fault to be repaired and the "
                          "pool to be whole",
            {run.elapsed(), {"timeout", corral::format_duration(o.settle)}});
  bool settled = monitor.wait_settled(true, inject_stop + o.settle);
  auto settle_stop = clock::now();
  if (settled)
    log::info("chaos", "pool whole again", {run.elapsed()});
  else
    log::warn("chaos", "pool NOT whole", {run.elapsed(), {"state", pool_state(monitor.latest())}});
  auto counts = load.stop();
  monitor.stop();
  log::info("chaos", "load stopped",
            {run.elapsed(), {"requests", counts.sent}, {"failed", counts.failed()}});

  // -- the report ------------------------------------------------------------------------
  auto r = report_of(o, seed);
  r.injecting_ms = ms_between(inject_start, inject_stop);
  r.settling_ms = ms_between(inject_stop, settle_stop);
  r.interrupted = interrupted;
  for (auto& f : monitor.faults())
    r.faults.push_back({f.kind, f.port, run.ms_since_origin(f.injected), f.detection_ms(),
                        f.replacement_ms(), f.phases_ms()});
  r.skipped = injector.skipped();
  r.injection_errors = injector.errors();
  add_load(r, std::move(counts), run);
  r.status_round_trip = monitor.round_trips();
  r.status_poll_errors = monitor.poll_errors();
  std::optional<pool_view> after;
  r.end = check_pool(o, http, docker, after);
  if (before && before->proxy && after && after->proxy)
    r.proxy_delta = after->proxy->since(*before->proxy);
  run_outcome outcome;
  outcome.report = std::move(r);
  outcome.exit_code = exit_status(*outcome.report);
  return outcome;
}

} // namespace corral::chaos
