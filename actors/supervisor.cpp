// The SUPERVISOR's handlers: slot lifecycle, replacement, scaling, shutdown.
#include "actors/supervisor.hpp"

#include "actors/balancer.hpp"
#include "actors/container.hpp"
#include "actors/health_checker.hpp"
#include "actors/scaler.hpp"
#include "actors/slot_policy.hpp"
#include "log/log.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <set>
#include <tuple>

namespace corral {

const char* to_string(slot_phase phase) {
  switch (phase) {
    case slot_phase::creating:
      return "creating";
    case slot_phase::starting:
      return "starting";
    case slot_phase::ready:
      return "ready";
    case slot_phase::checking:
      return "checking";
    case slot_phase::draining:
      return "draining";
    case slot_phase::stopping:
      return "stopping";
    case slot_phase::waiting:
      return "waiting";
  }
  return "unknown";
}

const char* exit_class(int32_t exit_code, bool oom) {
  if (oom)
    return "oom";
  if (exit_code == 0)
    return "clean";
  return exit_code >= 128 ? "signal" : "error";
}

namespace {

using self_ptr = metered_pointer<supervisor_actor, supervisor_state>;

int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string short_id(const std::string& id) {
  return id.substr(0, 12);
}

void enter(slot& s, slot_phase phase) {
  s.phase = phase;
  s.since_ms = unix_ms();
}

/// Keeps an event in the short event log.
void log_event(supervisor_state& st, std::string event, uint16_t port, const std::string& id,
               std::string detail) {
  st.events.push_back({unix_ms(), std::move(event), port, short_id(id), std::move(detail)});
  if (st.events.size() > supervisor_state::max_events)
    st.events.pop_front();
}

/// Counts a container's lifecycle event and keeps it in the event log.
void note(supervisor_state& st, std::string event, uint16_t port, const std::string& id,
          std::string detail = {}) {
  ++st.event_counts[event];
  log_event(st, std::move(event), port, id, std::move(detail));
}

/// True when the message being handled comes from the slot's current
/// container actor (not from an earlier incarnation's).
bool from_current(self_ptr self, const slot& s) {
  return s.actor && self->current_sender() == caf::actor_cast<caf::strong_actor_ptr>(s.actor);
}

/// Starts a new container for `port`; `replacing` when an earlier one of
/// the slot failed.
void launch(self_ptr self, uint16_t port, bool replacing = false) {
  auto& st = self->state;
  auto& s = st.slots[port];
  // A replacement is a creation too; the log shows it once, as "replaced".
  if (replacing) {
    ++st.event_counts["created"];
    note(st, "replaced", port, "", "restart " + std::to_string(s.restarts));
  } else {
    note(st, "created", port, "");
  }
  s.generation = st.next_generation++;
  s.container_id.clear();
  s.early_death.clear();
  s.launched_at = self->clock().now();
  enter(s, slot_phase::creating);
  auto spec = make_container_spec(st.cfg.pool, st.cfg.owner, port);
  container_listener_actor listener = caf::actor_cast<supervisor_actor>(self);
  if (st.cfg.detach_containers)
    s.actor = self->spawn<caf::detached + caf::monitored>(container, listener, st.runtime,
                                                          std::move(spec), st.cfg.census);
  else
    s.actor = self->spawn<caf::monitored>(container, listener, st.runtime, std::move(spec),
                                          st.cfg.census);
}

/// Takes a slot's container out of service and has it killed; the container
/// actor's `released` (or, failing that, its termination) then leads to the
/// replacement.
void fail_slot(self_ptr self, uint16_t port, const std::string& reason) {
  auto& st = self->state;
  auto& s = st.slots[port];
  s.last_error = reason;
  note(st, "killed", port, s.container_id, reason);
  log::warn("supervisor", s.leaving ? "failed while leaving the pool" : "failed; replacing it",
            {{"port", port}, {"container", short_id(s.container_id)}, {"reason", reason}});
  // Routing stops first, so no request goes to a container being killed.
  self->send(st.balancer, atom::down_v, port);
  self->send(st.health, atom::unwatch_v, port);
  enter(s, slot_phase::stopping);
  if (s.actor)
    self->send(s.actor, atom::kill_v);
}

/// Removes a slot from the pool: drained first if it serves traffic.
void retire(self_ptr self, uint16_t port) {
  auto& st = self->state;
  auto& s = st.slots[port];
  s.leaving = true;
  switch (s.phase) {
    case slot_phase::waiting:
      // No container: cancelling the pending restart is enough (the timer
      // carries the generation, which no slot will have again).
      st.slots.erase(port);
      return;
    case slot_phase::creating:
    case slot_phase::starting:
      self->send(st.balancer, atom::down_v, port);
      self->send(st.health, atom::unwatch_v, port);
      enter(s, slot_phase::stopping);
      self->send(s.actor, atom::stop_v); // after the launch, if still creating
      return;
    case slot_phase::ready:
    case slot_phase::checking: {
      enter(s, slot_phase::draining);
      log::info("supervisor", "draining", {{"port", port}});
      auto generation = s.generation;
      auto timeout = caf::timespan{st.cfg.scaling.drain_timeout};
      self->request(st.balancer, caf::infinite, atom::drain_v, port, timeout)
        .then([=](bool drained) {
          auto& st = self->state;
          auto i = st.slots.find(port);
          if (i == st.slots.end() || i->second.generation != generation || !i->second.leaving
              || i->second.phase != slot_phase::draining)
            return; // revived, failed or gone meanwhile
          log::info("supervisor", drained ? "drained; stopping it" : "drain timed out; stopping it",
                    {{"port", port}});
          self->send(st.health, atom::unwatch_v, port);
          enter(i->second, slot_phase::stopping);
          self->send(i->second.actor, atom::stop_v);
        });
      return;
    }
    case slot_phase::draining:
    case slot_phase::stopping:
      return; // already on its way out; `leaving` prevents a replacement
  }
}

/// Brings the slots in line with `desired`.
void reconcile(self_ptr self) {
  auto& st = self->state;
  std::set<uint16_t> members;
  std::set<uint16_t> taken;
  for (auto& [port, s] : st.slots) {
    taken.insert(port);
    if (!s.leaving)
      members.insert(port);
  }
  if (members.size() < st.desired) {
    auto missing = static_cast<uint32_t>(st.desired - members.size());
    // Draining containers are warm: keep them rather than start new ones.
    for (auto& [port, s] : st.slots) {
      if (missing == 0)
        break;
      if (s.leaving && s.phase == slot_phase::draining) {
        s.leaving = false;
        enter(s, slot_phase::ready);
        self->send(st.balancer, atom::up_v, port);
        log::info("supervisor", "keeping a draining container after all", {{"port", port}});
        --missing;
      }
    }
    for (auto port : free_ports(taken, st.cfg.pool.start_port, st.cfg.pool.max_containers,
                                missing)) {
      log::info("supervisor", "starting", {{"port", port}});
      launch(self, port);
    }
  } else if (members.size() > st.desired) {
    auto extra = static_cast<uint32_t>(members.size() - st.desired);
    for (auto port : ports_to_remove(members, extra))
      retire(self, port);
  }
}

/// Answers the shutdown once no container is left to stop or remove.
void finish_shutdown_if_done(self_ptr self) {
  auto& st = self->state;
  if (!st.shutting_down || !st.slots.empty() || !st.retiring.empty())
    return;
  for (auto& waiter : st.shutdown_waiters)
    waiter.deliver(true);
  st.shutdown_waiters.clear();
}

/// A slot's container no longer holds the slot: it is gone, or it was
/// renamed after a kill and is being removed. Leaving slots disappear;
/// others get a replacement, at once the first time, then with backoff.
void on_slot_released(self_ptr self, uint16_t port) {
  auto& st = self->state;
  auto& s = st.slots.at(port);
  if (st.shutting_down || s.leaving) {
    if (!st.shutting_down)
      log::info("supervisor", "left the pool", {{"port", port}});
    st.slots.erase(port);
    finish_shutdown_if_done(self);
    return;
  }
  // Gone without being asked to leave: it failed, or it could not start.
  if (s.phase != slot_phase::stopping) {
    s.last_error = s.last_error.empty() ? "container actor ended unexpectedly" : s.last_error;
    self->send(st.balancer, atom::down_v, port);
    self->send(st.health, atom::unwatch_v, port);
  }
  ++s.streak;
  ++s.restarts;
  auto delay = restart_delay(s.streak, st.cfg.restart.backoff, st.cfg.restart.max_backoff);
  if (delay.count() == 0) {
    launch(self, port, true);
    return;
  }
  log::warn("supervisor", "failing without becoming ready; backing off",
            {{"port", port},
             {"streak", s.streak},
             {"last_error", s.last_error},
             {"next_attempt_ms", delay.count()}});
  s.generation = st.next_generation++;
  enter(s, slot_phase::waiting);
  self->delayed_send(self, delay, atom::restart_v, port, s.generation);
}

/// A container actor terminated: a slot's current one, or one that had
/// released its slot already. Either way its container is gone (or, with
/// on_exit = keep, left running).
void on_container_down(self_ptr self, const caf::down_msg& msg) {
  auto& st = self->state;
  bool kept = st.shutting_down && st.cfg.pool.on_exit == exit_policy::keep;
  auto retired = std::find_if(st.retiring.begin(), st.retiring.end(),
                              [&](const retiring_container& r) {
                                return r.actor.address() == msg.source;
                              });
  if (retired != st.retiring.end()) {
    note(st, "removed", retired->port, retired->container_id);
    st.retiring.erase(retired);
    finish_shutdown_if_done(self);
    return;
  }
  auto i = std::find_if(st.slots.begin(), st.slots.end(), [&](const auto& kv) {
    return kv.second.actor && kv.second.actor.address() == msg.source;
  });
  if (i == st.slots.end())
    return;
  if (!i->second.container_id.empty() && !kept)
    note(st, "removed", i->first, i->second.container_id);
  i->second.actor = nullptr;
  on_slot_released(self, i->first);
}

pool_status make_status(const supervisor_state& st) {
  pool_status result;
  result.name = st.cfg.pool.name;
  result.desired = st.desired;
  result.min_containers = st.cfg.pool.min_containers;
  result.max_containers = st.cfg.pool.max_containers;
  result.event_counts = st.event_counts;
  result.deaths = st.deaths;
  result.events.assign(st.events.begin(), st.events.end());
  for (auto& [port, s] : st.slots)
    result.slots.push_back({port, s.leaving && s.phase != slot_phase::draining
                                    ? std::string{"stopping"}
                                    : std::string{to_string(s.phase)},
                            s.container_id, s.restarts, s.streak, s.since_ms, s.last_error});
  return result;
}

} // namespace

supervisor_actor::behavior_type supervisor(self_ptr self, supervisor_config cfg,
                                           std::shared_ptr<container_runtime> runtime,
                                           std::shared_ptr<prober> probes) {
  self->enlist(cfg.census, "supervisor");
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.runtime = std::move(runtime);
  auto me = caf::actor_cast<supervisor_actor>(self);
  // Linked: the supervisor and its helpers live and die together.
  st.balancer = self->spawn<caf::linked>(balancer, balancer_listener_actor{me}, st.cfg.census);
  st.health = self->spawn<caf::linked>(health_checker, health_listener_actor{me},
                                       std::move(probes), st.cfg.health, st.cfg.census);
  st.scaler = self->spawn<caf::linked>(scaler, scale_listener_actor{me}, st.balancer,
                                       st.cfg.scaling, st.cfg.pool.min_containers,
                                       st.cfg.pool.max_containers, st.cfg.census);
  // Down messages bypass consume(): measured here, as kind "down".
  self->set_down_handler([=](caf::down_msg& msg) {
    self->measured("down", [&] { on_container_down(self, msg); });
  });
  st.desired = st.cfg.pool.min_containers;
  reconcile(self);
  return {
    // -- from container actors ---------------------------------------------------
    [=](atom::started, uint16_t port, const std::string& id) {
      auto& st = self->state;
      auto i = st.slots.find(port);
      if (i == st.slots.end() || !from_current(self, i->second)
          || i->second.phase != slot_phase::creating)
        return; // leaving or shutting down: a stop is already queued for it
      auto& s = i->second;
      s.container_id = id;
      note(st, "started", port, id);
      if (s.early_death == id) {
        fail_slot(self, port, "exited right after it started");
        return;
      }
      enter(s, slot_phase::starting);
      self->send(st.health, atom::watch_v, port, id);
    },
    [=](atom::released, uint16_t port) {
      auto& st = self->state;
      auto i = st.slots.find(port);
      if (i == st.slots.end() || !from_current(self, i->second))
        return;
      // The old container actor finishes the removal on its own thread.
      st.retiring.push_back({std::move(i->second.actor), port, i->second.container_id});
      i->second.actor = nullptr;
      on_slot_released(self, port);
    },
    [=](atom::start_failed, uint16_t port, const std::string& reason) {
      auto& st = self->state;
      auto i = st.slots.find(port);
      if (i == st.slots.end() || !from_current(self, i->second))
        return;
      i->second.last_error = reason;
      note(st, "start_failed", port, "", reason);
      log::warn("supervisor", "could not start", {{"port", port}, {"reason", reason}});
    },
    // -- from the health checker ---------------------------------------------------
    [=](atom::healthy, uint16_t port, const std::string& id) {
      auto& st = self->state;
      auto i = st.slots.find(port);
      if (i == st.slots.end() || i->second.container_id != id || i->second.leaving)
        return;
      auto& s = i->second;
      if (s.phase != slot_phase::starting && s.phase != slot_phase::checking)
        return;
      auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        self->clock().now() - s.launched_at);
      if (s.phase == slot_phase::starting) {
        note(st, "ready", port, id, std::to_string(took.count()) + " ms after launch");
        log::info("supervisor", "ready",
                  {{"port", port}, {"container", short_id(id)}, {"took_ms", took.count()}});
      } else {
        log::info("supervisor", "passed its re-check", {{"port", port}});
      }
      s.streak = 0;
      enter(s, slot_phase::ready);
      self->send(st.balancer, atom::up_v, port);
    },
    [=](atom::unhealthy, uint16_t port, const std::string& id, const std::string& reason) {
      auto& st = self->state;
      auto i = st.slots.find(port);
      if (i == st.slots.end() || i->second.container_id != id)
        return;
      auto phase = i->second.phase;
      if (phase == slot_phase::starting || phase == slot_phase::ready
          || phase == slot_phase::checking || phase == slot_phase::draining) {
        note(st, "unhealthy", port, id, reason);
        fail_slot(self, port, "health check failed: " + reason);
      }
    },
    // -- from the balancer -----------------------------------------------------------
    [=](atom::suspect, uint16_t port) {
      auto& st = self->state;
      auto i = st.slots.find(port);
      if (i == st.slots.end() || i->second.phase != slot_phase::ready)
        return;
      enter(i->second, slot_phase::checking);
      self->send(st.health, atom::recheck_v, port);
    },
    [=](atom::traffic) { self->send(self->state.scaler, atom::traffic_v); },
    // -- from the events feed ----------------------------------------------------------
    [=](atom::died, uint16_t port, const std::string& id, int32_t exit_code, bool oom) {
      auto& st = self->state;
      // Every death of a pool container counts, also one corral caused.
      ++st.deaths[exit_class(exit_code, oom)];
      note(st, oom ? "oom" : "died", port, id,
           oom ? std::string{"out of memory"} : "exit " + std::to_string(exit_code));
      auto i = st.slots.find(port);
      if (i == st.slots.end())
        return;
      auto& s = i->second;
      if (s.phase == slot_phase::creating && s.container_id.empty()) {
        s.early_death = id; // `started` is still on its way
        return;
      }
      if (s.container_id != id || s.phase == slot_phase::stopping
          || s.phase == slot_phase::waiting)
        return; // an old container, or one corral is removing anyway
      fail_slot(self, port,
                oom ? std::string{"killed: out of memory"}
                    : "exited with status " + std::to_string(exit_code));
    },
    [=](atom::resync, const std::vector<observed_container>& seen) {
      auto& st = self->state;
      std::vector<uint16_t> lost;
      for (auto& [port, s] : st.slots) {
        if (s.container_id.empty() || s.phase == slot_phase::stopping
            || s.phase == slot_phase::waiting || s.phase == slot_phase::creating)
          continue;
        auto alive = std::any_of(seen.begin(), seen.end(), [&](const observed_container& c) {
          return c.id == s.container_id && c.running;
        });
        if (!alive)
          lost.push_back(port);
      }
      for (auto port : lost)
        fail_slot(self, port, "gone while the Docker events stream was down");
      // The stream (re)connected, so the daemon answers again: slots whose
      // backoff grew while it was away retry now instead of sitting it out.
      std::vector<uint16_t> waiting;
      for (auto& [port, s] : st.slots)
        if (s.phase == slot_phase::waiting && !s.leaving && !st.shutting_down)
          waiting.push_back(port);
      for (auto port : waiting) {
        log::info("supervisor", "the Docker daemon answers: starting again now", {{"port", port}});
        launch(self, port, true);
      }
    },
    // -- from the scaler -----------------------------------------------------------------
    [=](atom::scale, uint32_t size) -> uint32_t {
      auto& st = self->state;
      if (st.shutting_down)
        return st.desired;
      auto before = st.desired;
      st.desired = std::clamp(size, st.cfg.pool.min_containers, st.cfg.pool.max_containers);
      if (st.desired != before)
        log_event(st, "scale", 0, "",
                  std::to_string(before) + " -> " + std::to_string(st.desired));
      reconcile(self);
      return st.desired;
    },
    // INTERNAL: a slot's backoff passed.
    [=](atom::restart, uint16_t port, uint64_t generation) {
      auto& st = self->state;
      auto i = st.slots.find(port);
      if (st.shutting_down || i == st.slots.end() || i->second.generation != generation
          || i->second.phase != slot_phase::waiting)
        return;
      log::info("supervisor", "starting again", {{"port", port}});
      launch(self, port, true);
    },
    // -- from the app --------------------------------------------------------------------
    [=](caf::get_atom, atom::helpers) {
      auto& st = self->state;
      return std::make_tuple(st.balancer, st.health, st.scaler);
    },
    [=](caf::get_atom, atom::status) { return make_status(self->state); },
    [=](atom::shutdown) -> caf::result<bool> {
      auto& st = self->state;
      st.shutting_down = true;
      bool keep = st.cfg.pool.on_exit == exit_policy::keep;
      log::info("supervisor", keep ? "leaving the containers running" : "removing the containers",
                {{"pool", st.cfg.pool.name}, {"containers", st.slots.size()}});
      for (auto i = st.slots.begin(); i != st.slots.end();) {
        auto port = i->first;
        auto& s = i->second;
        self->send(st.balancer, atom::down_v, port);
        self->send(st.health, atom::unwatch_v, port);
        if (!s.actor) {
          i = st.slots.erase(i);
          continue;
        }
        if (keep)
          self->send_exit(s.actor, caf::exit_reason::user_shutdown);
        else if (s.phase != slot_phase::stopping)
          self->send(s.actor, atom::stop_v);
        enter(s, slot_phase::stopping);
        ++i;
      }
      if (st.slots.empty() && st.retiring.empty())
        return true;
      auto promise = self->make_response_promise<bool>();
      st.shutdown_waiters.push_back(promise);
      return promise;
    },
  };
}

} // namespace corral
