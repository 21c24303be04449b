// The HEALTH CHECKER's handlers: two ticks, watch/unwatch/recheck, results.
#include "actors/health_checker.hpp"

#include "actors/wall_clock.hpp"
#include "log/log.hpp"

#include <caf/all.hpp>

#include <chrono>

namespace corral {

namespace {

using self_ptr = metered_pointer<health_checker_actor, health_checker_state>;

/// Starts a probe unless one is out already. The answer comes back to this
/// actor as a message, on whatever thread the prober completes it.
void probe(self_ptr self, uint16_t port, health_target& target) {
  auto& st = self->state;
  if (target.probing)
    return;
  target.probing = true;
  target.probe_id = st.next_probe_id++;
  auto hdl = caf::actor_cast<health_checker_actor>(self);
  st.probes->probe(port, st.settings.timeout,
                   [hdl, port, id = target.probe_id](probe_result result) {
                     caf::anon_send(hdl, atom::probe_v, port, id, std::move(result));
                   });
}

bool needs_fast_probes(const health_target& target) {
  return target.track.phase == health_phase::starting
         || target.track.phase == health_phase::suspect;
}

void arm_fast_tick(self_ptr self) {
  if (self->state.fast_armed)
    return;
  self->state.fast_armed = true;
  self->delayed_send(self, self->state.settings.start_interval, atom::fast_tick_v);
}

void report_unhealthy(self_ptr self, uint16_t port, health_target& target,
                      const std::string& reason) {
  target.track.phase = health_phase::failed;
  ++self->state.became_unhealthy;
  self->send(self->state.listener, atom::unhealthy_v, port, target.container_id, reason);
}

} // namespace

/// The counters and latest probes, for the admin endpoint.
health_status make_status(const health_checker_state& st) {
  health_status out;
  for (auto& [port, counts] : st.probes_by_port) {
    port_probes p;
    p.port = port;
    p.by_outcome.assign(counts.begin(), counts.end());
    if (auto t = st.targets.find(port); t != st.targets.end() && t->second.last_outcome) {
      p.last_result = to_string(*t->second.last_outcome);
      p.last_latency_seconds = std::chrono::duration<double>(t->second.last_latency).count();
      p.last_at_ms = t->second.last_at_ms;
    }
    out.ports.push_back(std::move(p));
  }
  out.probe_seconds = st.probe_latency.seconds();
  out.became_healthy = st.became_healthy;
  out.became_unhealthy = st.became_unhealthy;
  return out;
}

health_checker_actor::behavior_type health_checker(self_ptr self, health_listener_actor listener,
                                                   std::shared_ptr<prober> probes,
                                                   health_settings settings,
                                                   std::shared_ptr<metrics::actor_census> census) {
  self->enlist(std::move(census), "health_checker");
  self->state.listener = std::move(listener);
  self->state.probes = std::move(probes);
  self->state.settings = std::move(settings);
  self->delayed_send(self, self->state.settings.interval, caf::tick_atom_v);
  return {
    // Probe a container at once, then at the fast interval. A freshly
    // started one may fail until it listens (the start timeout decides); an
    // adopted one ran already, so its failures count at once.
    [=](atom::watch, uint16_t port, const std::string& container_id, bool adopting) {
      auto& target = self->state.targets[port];
      target = health_target{};
      target.container_id = container_id;
      target.watched_at = self->clock().now();
      if (adopting)
        target.track.phase = health_phase::suspect;
      probe(self, port, target);
      arm_fast_tick(self);
    },
    [=](atom::reload, health_settings& settings) {
      self->state.settings = std::move(settings);
    },
    [=](atom::unwatch, uint16_t port) { self->state.targets.erase(port); },
    // The proxy could not reach a ready container: it must pass again.
    [=](atom::recheck, uint16_t port) {
      auto i = self->state.targets.find(port);
      if (i == self->state.targets.end() || i->second.track.phase != health_phase::ready)
        return;
      i->second.track.suspect();
      probe(self, port, i->second);
      arm_fast_tick(self);
    },
    // INTERNAL: the fault check interval; re-armed first so a slow round
    // cannot stop the loop.
    [=](caf::tick_atom) {
      self->delayed_send(self, self->state.settings.interval, caf::tick_atom_v);
      for (auto& [port, target] : self->state.targets)
        if (target.track.phase == health_phase::ready)
          probe(self, port, target);
    },
    // INTERNAL: the start interval, while anything is starting or suspect.
    [=](atom::fast_tick) {
      auto& st = self->state;
      st.fast_armed = false;
      auto now = self->clock().now();
      bool again = false;
      for (auto& [port, target] : st.targets) {
        if (!needs_fast_probes(target))
          continue;
        if (target.track.phase == health_phase::starting
            && now - target.watched_at >= st.settings.start_timeout) {
          report_unhealthy(self, port, target,
                           "not ready within the start timeout (last probe: "
                             + target.last_reason + ")");
          continue;
        }
        probe(self, port, target);
        again = true;
      }
      if (again)
        arm_fast_tick(self);
    },
    [=](caf::get_atom, atom::status) { return make_status(self->state); },
    // INTERNAL: a probe's answer.
    [=](atom::probe, uint16_t port, uint64_t id, probe_result& result) {
      auto& st = self->state;
      auto i = st.targets.find(port);
      if (i == st.targets.end() || i->second.probe_id != id)
        return; // unwatched meanwhile, or watched afresh
      auto& target = i->second;
      target.probing = false;
      // Counted only for the probe the target waited for: a stale answer
      // says nothing about the container that holds the port now.
      ++st.probes_by_port[port][static_cast<size_t>(result.outcome)];
      st.probe_latency.observe(static_cast<uint64_t>(result.latency.count()));
      target.last_outcome = result.outcome;
      target.last_latency = result.latency;
      target.last_at_ms = unix_ms();
      // corral's own trouble (out of descriptors): counted, never held
      // against the container; the next tick probes again.
      if (result.outcome == probe_outcome::local_error) {
        auto now = self->clock().now();
        if (now - st.last_local_warning >= std::chrono::seconds(10)) {
          st.last_local_warning = now;
          log::warn("health_checker", "corral cannot probe; not counted against the container",
                    {{"port", port}, {"reason", result.reason}});
        }
        return;
      }
      bool passed = result.passed;
      if (!passed) {
        log::debug("health_checker", "probe failed", {{"port", port}, {"reason", result.reason}});
        target.last_reason = std::move(result.reason);
      }
      switch (target.track.record(passed, st.settings.healthy_after,
                                  st.settings.unhealthy_after)) {
        case health_transition::became_healthy:
          ++st.became_healthy;
          self->send(st.listener, atom::healthy_v, port, target.container_id);
          break;
        case health_transition::became_unhealthy:
          report_unhealthy(self, port, target, target.last_reason);
          break;
        case health_transition::none:
          break;
      }
    },
  };
}

} // namespace corral
