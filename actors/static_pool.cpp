// The STATIC POOL's handlers: probes decide the rotation, nothing else moves.
#include "actors/static_pool.hpp"

#include "actors/balancer.hpp"
#include "actors/health_checker.hpp"
#include "actors/scaler.hpp"
#include "actors/wall_clock.hpp"
#include "log/log.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <tuple>

namespace corral {

namespace {

using self_ptr = metered_pointer<supervisor_actor, static_pool_state>;

void note(static_pool_state& st, std::string event, uint16_t port, std::string detail = {}) {
  ++st.event_counts[event];
  st.events.push_back({unix_ms(), std::move(event), port, static_backend_id(port),
                       std::move(detail)});
  while (st.events.size() > static_pool_state::max_events)
    st.events.pop_front();
}

void set_state(static_backend& b, std::string state) {
  b.state = std::move(state);
  b.since_ms = unix_ms();
}

/// Starts probing a backend afresh: fast probes until it passes. One that
/// does not pass within the start timeout is reported unhealthy and watched
/// afresh, so a backend that is down is probed until it comes back.
void watch(self_ptr self, uint16_t port) {
  self->send(self->state.health, atom::watch_v, port, static_backend_id(port), false);
}

void add_backend(self_ptr self, uint16_t port) {
  auto& b = self->state.backends[port];
  set_state(b, "starting");
  watch(self, port);
}

void remove_backend(self_ptr self, uint16_t port) {
  auto& st = self->state;
  st.backends.erase(port);
  self->send(st.health, atom::unwatch_v, port);
  self->send(st.balancer, atom::down_v, port);
  note(st, "removed", port, "no longer in [pool] backends");
  log::info("static_pool", "backend removed", {{"port", port}});
}

pool_status make_status(const static_pool_state& st) {
  pool_status out;
  out.name = st.cfg.pool.name;
  auto n = static_cast<uint32_t>(st.backends.size());
  out.desired = out.min_containers = out.max_containers = n;
  out.event_counts = st.event_counts;
  out.events.assign(st.events.begin(), st.events.end());
  for (auto& [port, b] : st.backends)
    out.slots.push_back({port, b.state, static_backend_id(port), b.failures, 0, b.since_ms,
                         b.last_error, {}});
  return out;
}

} // namespace

std::string static_backend_id(uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

supervisor_actor::behavior_type static_pool(self_ptr self, static_pool_config cfg,
                                            std::shared_ptr<prober> probes) {
  self->enlist(cfg.census, "supervisor");
  auto& st = self->state;
  st.cfg = std::move(cfg);
  auto me = caf::actor_cast<supervisor_actor>(self);
  auto size = static_cast<uint32_t>(st.cfg.pool.backends.size());
  // Linked: the pool's owner and its helpers live and die together. The
  // scaler is bounded to the backends there are: its windows are shown, its
  // decisions change nothing.
  st.balancer = self->spawn<caf::linked>(
    balancer, balancer_listener_actor{me},
    balancer_settings{st.cfg.queue, st.cfg.health.passive_failures}, st.cfg.census);
  st.health = self->spawn<caf::linked>(health_checker, health_listener_actor{me},
                                       std::move(probes), st.cfg.health, st.cfg.census);
  st.scaler = self->spawn<caf::linked>(scaler, scale_listener_actor{me}, st.balancer,
                                       scaling_settings{}, size, size, st.cfg.census);
  for (auto port : st.cfg.pool.backends)
    add_backend(self, port);
  return {
    // -- from the health checker ---------------------------------------------------
    [=](atom::healthy, uint16_t port, const std::string&) {
      auto& st = self->state;
      auto i = st.backends.find(port);
      if (i == st.backends.end())
        return;
      auto& b = i->second;
      if (b.state != "ready") {
        log::info("static_pool", b.state == "starting" ? "backend ready" : "backend back",
                  {{"port", port}});
        note(st, "ready", port, b.state == "starting" ? "" : "passed its probe again");
      }
      set_state(b, "ready");
      self->send(st.balancer, atom::up_v, port);
    },
    [=](atom::unhealthy, uint16_t port, const std::string&, const std::string& reason) {
      auto& st = self->state;
      auto i = st.backends.find(port);
      if (i == st.backends.end())
        return;
      auto& b = i->second;
      self->send(st.balancer, atom::down_v, port);
      b.last_error = reason;
      if (b.state == "ready" || b.state == "checking") {
        ++b.failures;
        note(st, "unhealthy", port, reason);
        log::warn("static_pool", "backend left the rotation; probing it until it passes",
                  {{"port", port}, {"reason", reason}});
        set_state(b, "down");
      } else if (b.state == "starting") {
        log::warn("static_pool", "backend not ready yet; probing on",
                  {{"port", port}, {"reason", reason}});
        set_state(b, "down");
      }
      watch(self, port);
    },
    // -- from the balancer -----------------------------------------------------------
    [=](atom::suspect, uint16_t port) {
      auto& st = self->state;
      auto i = st.backends.find(port);
      if (i == st.backends.end() || i->second.state != "ready")
        return;
      note(st, "suspect", port, "the proxy saw it fail");
      set_state(i->second, "checking");
      self->send(st.health, atom::recheck_v, port);
    },
    [=](atom::traffic) { self->send(self->state.scaler, atom::traffic_v); },
    // -- the supervisor's container messages: there are no containers ----------------
    [=](atom::died, uint16_t, const std::string&, int32_t, bool) {},
    [=](atom::resync, const std::vector<observed_container>&) {},
    [=](atom::started, uint16_t, const std::string&) {},
    [=](atom::start_failed, uint16_t, const std::string&, bool) {},
    [=](atom::released, uint16_t) {},
    [=](atom::restart, uint16_t, uint64_t) {},
    [=](atom::freeze, bool) {},
    // -- from the scaler: the pool's size is the backend list ------------------------
    [=](atom::scale, uint32_t) -> uint32_t {
      return static_cast<uint32_t>(self->state.backends.size());
    },
    // -- from the app --------------------------------------------------------------------
    [=](atom::reload, pool_update& update) {
      auto& st = self->state;
      st.cfg.health = update.health;
      st.cfg.queue = update.queue;
      self->send(st.health, atom::reload_v, update.health);
      self->send(st.balancer, atom::reload_v,
                 balancer_settings{update.queue, update.health.passive_failures});
      auto& wanted = update.pool.backends;
      std::vector<uint16_t> gone;
      for (auto& [port, b] : st.backends)
        if (std::find(wanted.begin(), wanted.end(), port) == wanted.end())
          gone.push_back(port);
      for (auto port : gone)
        remove_backend(self, port);
      for (auto port : wanted)
        if (!st.backends.count(port)) {
          note(st, "added", port);
          log::info("static_pool", "backend added", {{"port", port}});
          add_backend(self, port);
        }
      auto n = static_cast<uint32_t>(st.backends.size());
      self->send(st.scaler, atom::reload_v, scaling_settings{}, n, n);
      st.cfg.pool.backends = wanted;
    },
    [=](caf::get_atom, atom::helpers) {
      auto& st = self->state;
      return std::make_tuple(st.balancer, st.health, st.scaler);
    },
    [=](caf::get_atom, atom::status) { return make_status(self->state); },
    // Nothing to stop: corral never owned the backends.
    [=](atom::shutdown, bool) -> bool { return true; },
  };
}

} // namespace corral
