// Killing and crashing pool containers (see injector.hpp).
#include "tools/chaos/injector.hpp"

#include <algorithm>

namespace corral::chaos {

namespace {

/// The crash POST goes to a healthy container on loopback: it answers at once.
constexpr std::chrono::milliseconds crash_timeout{2000};

int64_t ms_since(clock::time_point from) {
  return whole_ms(std::chrono::duration<double, std::milli>(clock::now() - from).count());
}

} // namespace

fault_injector::fault_injector(const chaos_options& options, status_monitor& monitor,
                               container_runtime& runtime, const run_clock& clock,
                               uint64_t seed)
  : options_(options), monitor_(monitor), runtime_(runtime), clock_(clock), random_(seed) {
}

std::optional<slot_view> fault_injector::pick() {
  auto view = monitor_.latest();
  if (!view)
    return std::nullopt;
  auto victims = eligible_victims(*view, monitor_.busy_ports());
  if (victims.empty())
    return std::nullopt;
  std::uniform_int_distribution<std::size_t> index{0, victims.size() - 1};
  return victims[index(random_)];
}

injection fault_injector::fail(std::string message) {
  log::warn("chaos", "injection failed", {clock_.elapsed(), {"error", message}});
  errors_.push_back(std::move(message));
  return injection::failed;
}

injection fault_injector::kill_one() {
  auto victim = pick();
  if (!victim) {
    ++skipped_;
    log::info("chaos", "kill skipped: no ready slot without an unrepaired fault",
              {clock_.elapsed()});
    return injection::skipped;
  }
  // corral's word alone does not license a SIGKILL: the container must carry
  // the pool's label, so a wrong --admin can never make chaos kill a stranger.
  auto listed = runtime_.list({{labels::pool, options_.pool}});
  if (!listed)
    return fail("kill on port " + std::to_string(victim->port)
                + " failed: cannot list the pool's containers: " + listed.error().message);
  auto known = std::any_of(listed->begin(), listed->end(), [&](const container_info& c) {
    return c.id == victim->container && c.port == victim->port
           && c.status == container_status::running;
  });
  if (!known) {
    // It died or was replaced between corral's answer and Docker's.
    ++skipped_;
    log::info("chaos", "kill skipped: the container is not a running one of the pool any more",
              {clock_.elapsed(),
               {"port", victim->port},
               {"container", short_id(victim->container)},
               {"pool", options_.pool}});
    return injection::skipped;
  }
  auto t0 = clock::now();
  auto id = monitor_.open(fault_kind::kill, victim->port, victim->container, t0);
  auto killed = runtime_.kill(victim->container, "SIGKILL");
  if (!killed) {
    monitor_.cancel(id);
    return fail("kill on port " + std::to_string(victim->port) + " failed: "
                + killed.error().message);
  }
  log::info("chaos", "kill: SIGKILL sent",
            {clock_.elapsed(),
             {"fault", id},
             {"port", victim->port},
             {"container", short_id(victim->container)},
             {"engine_ms", ms_since(t0)}});
  return injection::done;
}

injection fault_injector::crash_one() {
  auto victim = pick();
  if (!victim) {
    ++skipped_;
    log::info("chaos", "crash skipped: no ready slot without an unrepaired fault",
              {clock_.elapsed()});
    return injection::skipped;
  }
  auto t0 = clock::now();
  auto id = monitor_.open(fault_kind::crash, victim->port, victim->container, t0);
  auto url = loopback_endpoint{"127.0.0.1", victim->port}.url("/api/v1/_crash");
  auto answer = http_.post(url, crash_timeout);
  if (!answer.success()) {
    monitor_.cancel(id);
    return fail("crash on port " + std::to_string(victim->port) + " failed: POST " + url
                + (answer.status == 0 ? " got no answer: " + answer.detail
                                      : " answered " + std::to_string(answer.status)));
  }
  log::info("chaos", "crash: POST /api/v1/_crash answered",
            {clock_.elapsed(),
             {"fault", id},
             {"port", victim->port},
             {"container", short_id(victim->container)},
             {"answered_ms", ms_since(t0)}});
  return injection::done;
}

} // namespace corral::chaos
