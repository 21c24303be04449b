// The SUPERVISOR's handlers: each message becomes a slot event, the life
// cycle table decides, and the actions are carried out here; after every
// change the pool planner says which slots to add, retire or keep.
#include "actors/supervisor.hpp"

#include "actors/balancer.hpp"
#include "actors/container.hpp"
#include "actors/health_checker.hpp"
#include "actors/pool_plan.hpp"
#include "actors/scaler.hpp"
#include "actors/wall_clock.hpp"
#include "log/log.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <tuple>

namespace corral {

const char* exit_class(int32_t exit_code, bool oom) {
  if (oom)
    return "oom";
  if (exit_code == 0)
    return "clean";
  return exit_code >= 128 ? "signal" : "error";
}

namespace {

using self_ptr = metered_pointer<supervisor_actor, supervisor_state>;

std::string short_id(const std::string& id) {
  return id.substr(0, 12);
}

pool_template make_template(const pool_settings& pool, const std::string& image_id,
                            const std::string& owner) {
  pool_template t{pool, image_id, owner, 0};
  t.spec = spec_fingerprint(make_container_spec(pool, image_id, owner, 0));
  return t;
}

// -- the event log -------------------------------------------------------------------

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

// -- carrying out the table's decisions -------------------------------------------------------

void replan(self_ptr self);
void on_event(self_ptr self, uint16_t port, slot_event event, const std::string& reason = {});

/// True when the message being handled comes from the slot's current
/// container actor (not from an earlier incarnation's).
bool from_current(self_ptr self, const slot& s) {
  return s.actor && self->current_sender() == caf::actor_cast<caf::strong_actor_ptr>(s.actor);
}

/// Spawns the container actor of a slot: a new container of the target
/// spec, or (with `adopted_id`) one an earlier run left running.
void spawn_container(self_ptr self, uint16_t port, const std::string& adopted_id = {}) {
  auto& st = self->state;
  auto& s = st.slots[port];
  auto spec = make_container_spec(st.target.pool, st.target.image_id, st.target.owner, port);
  container_listener_actor listener = caf::actor_cast<supervisor_actor>(self);
  if (st.cfg.detach_containers)
    s.actor = self->spawn<caf::detached + caf::monitored>(container, listener, st.runtime,
                                                          std::move(spec), adopted_id,
                                                          st.cfg.census);
  else
    s.actor = self->spawn<caf::monitored>(container, listener, st.runtime, std::move(spec),
                                          adopted_id, st.cfg.census);
}

/// A new container for `port`, of the target spec.
void launch(self_ptr self, uint16_t port, bool replacing) {
  auto& st = self->state;
  auto& s = st.slots[port];
  // A replacement is a creation too; the log shows it once, as "replaced".
  if (replacing) {
    ++st.event_counts["created"];
    note(st, "replaced", port, "", "restart " + std::to_string(s.facts.restarts));
  } else {
    note(st, "created", port, "");
  }
  s.generation = st.next_generation++;
  s.container_id.clear();
  s.early_death.clear();
  s.adopted = false;
  s.spec = st.target.spec;
  s.launched_at = self->clock().now();
  spawn_container(self, port);
}

/// Drains `port` in the balancer; its answer becomes the slot's `drained`.
void drain(self_ptr self, uint16_t port) {
  auto& st = self->state;
  auto generation = st.slots.at(port).generation;
  auto timeout = caf::timespan{st.cfg.scaling.drain_timeout};
  log::info("supervisor", "draining", {{"port", port}});
  self->request(st.balancer, caf::infinite, atom::drain_v, port, timeout)
    .then([=](bool drained) {
      auto& st = self->state;
      auto i = st.slots.find(port);
      if (i == st.slots.end() || i->second.generation != generation)
        return; // another container holds the slot now
      log::info("supervisor", drained ? "drained; stopping it" : "drain timed out; stopping it",
                {{"port", port}});
      on_event(self, port, slot_event::drained);
    });
}

/// Carries out one transition's actions, in order.
void carry_out(self_ptr self, uint16_t port, const slot_step& step) {
  auto& st = self->state;
  for (auto action : step.actions) {
    auto i = st.slots.find(port);
    if (i == st.slots.end())
      return;
    auto& s = i->second;
    switch (action) {
      case slot_action::route_down:
        self->send(st.balancer, atom::down_v, port);
        break;
      case slot_action::unwatch:
        self->send(st.health, atom::unwatch_v, port);
        break;
      case slot_action::watch:
        self->send(st.health, atom::watch_v, port, s.container_id, false);
        break;
      case slot_action::recheck:
        self->send(st.health, atom::recheck_v, port);
        break;
      case slot_action::route_up:
        self->send(st.balancer, atom::up_v, port);
        break;
      case slot_action::drain:
        drain(self, port);
        break;
      case slot_action::stop:
        if (s.actor)
          self->send(s.actor, atom::stop_v);
        break;
      case slot_action::kill:
        if (s.actor) {
          note(st, "killed", port, s.container_id, s.last_error);
          self->send(s.actor, atom::kill_v);
        }
        break;
      case slot_action::detach:
        if (s.actor)
          self->send_exit(s.actor, caf::exit_reason::user_shutdown);
        break;
      case slot_action::launch:
        launch(self, port, step.replaced);
        break;
      case slot_action::schedule_restart:
        s.generation = st.next_generation++;
        log::warn("supervisor", "failing without becoming ready; backing off",
                  {{"port", port},
                   {"streak", s.facts.streak},
                   {"last_error", s.last_error},
                   {"next_attempt_ms", step.delay.count()}});
        self->delayed_send(self, step.delay, atom::restart_v, port, s.generation);
        break;
      case slot_action::erase:
        st.slots.erase(port);
        break;
    }
  }
}

/// Answers the shutdown once no container actor is left.
void finish_shutdown_if_done(self_ptr self) {
  auto& st = self->state;
  if (!st.shutting_down || !st.slots.empty() || !st.removing.empty())
    return;
  for (auto& waiter : st.shutdown_waiters)
    waiter.deliver(true);
  st.shutdown_waiters.clear();
}

// -- rollouts ---------------------------------------------------------------------------------

bool rolling(const supervisor_state& st) {
  return st.rollout.state == "rolling";
}

/// A container of the rollout's new spec failed before it became ready:
/// the rollout stops and the pool returns to the last spec it all ran.
void roll_back(self_ptr self, uint16_t port, const std::string& why) {
  auto& st = self->state;
  if (!rolling(st) || !st.last_good)
    return;
  auto failure = "the new container on port " + std::to_string(port)
                 + " did not become ready: " + why;
  log::error("supervisor", "rollout failed; rolling back",
             {{"from", st.rollout.from}, {"to", st.rollout.to}, {"reason", failure}});
  st.target = *st.last_good;
  st.last_good.reset();
  st.rollout.state = "rolled_back";
  st.rollout.failure = failure;
  st.rollout.finished_ms = unix_ms();
  log_event(st, "rollback", port, "", failure);
}

/// Starts a rollout to `next` (or supersedes the one under way).
void roll_out(self_ptr self, pool_template next) {
  auto& st = self->state;
  if (next.spec == st.target.spec) {
    st.target = std::move(next); // same containers; other settings may differ
    return;
  }
  if (!rolling(st))
    st.last_good = st.target;
  auto& r = st.rollout;
  r = rollout_status{};
  r.state = "rolling";
  r.from = spec_label(st.last_good->spec);
  r.to = spec_label(next.spec);
  r.from_image = st.last_good->image_id;
  r.to_image = next.image_id;
  r.started_ms = unix_ms();
  log::info("supervisor", "rolling out a new container spec",
            {{"from", r.from}, {"to", r.to}, {"image", next.image_id}});
  log_event(st, "rollout", 0, "", r.from + " -> " + r.to);
  st.target = std::move(next);
  // A slot that gave up on the old spec may well start on the new one.
  std::vector<uint16_t> failed;
  for (auto& [port, s] : st.slots)
    if (s.facts.phase == slot_phase::failed || s.facts.phase == slot_phase::backoff)
      failed.push_back(port);
  for (auto port : failed)
    on_event(self, port, slot_event::retry);
}

// -- planning ---------------------------------------------------------------------------------

/// Asks the planner for the next moves toward the goal and makes them;
/// notes a finished rollout.
void replan(self_ptr self) {
  auto& st = self->state;
  if (st.shutting_down || st.frozen)
    return;
  pool_goal goal{st.cfg.pool.start_port, st.desired, st.target.spec,
                 st.cfg.rollout.max_surge, st.cfg.rollout.max_unavailable};
  for (int round = 0; round < 4; ++round) {
    std::vector<slot_view> view;
    for (auto& [port, s] : st.slots)
      view.push_back({port, s.facts.phase, s.facts.leaving, s.spec});
    auto& r = st.rollout;
    if (rolling(st)) {
      r.total = st.desired;
      r.updated = 0;
      for (auto& v : view)
        r.updated += !v.leaving && v.spec == goal.spec && v.phase == slot_phase::ready
                       && v.port < uint32_t{goal.start_port} + goal.size
                     ? 1
                     : 0;
      if (pool_settled(view, goal)) {
        r.state = "done";
        r.finished_ms = unix_ms();
        st.last_good.reset();
        log::info("supervisor", "rollout done", {{"spec", r.to}, {"containers", r.total}});
        log_event(st, "rollout", 0, "", "done: " + r.to);
      }
    }
    auto moves = plan_pool(view, goal);
    if (moves.empty())
      return;
    for (auto port : moves.keep) {
      log::info("supervisor", "keeping it after all", {{"port", port}});
      on_event(self, port, slot_event::keep);
    }
    for (auto port : moves.retire)
      on_event(self, port, slot_event::retire);
    for (auto port : moves.launch) {
      log::info("supervisor", "starting a container", {{"port", port}});
      launch(self, port, false);
    }
    // A keep or an erase may allow the next move at once.
  }
}

/// Feeds `event` to the slot on `port` and carries out the outcome.
void on_event(self_ptr self, uint16_t port, slot_event event, const std::string& reason) {
  auto& st = self->state;
  // Frozen for a successor: nothing changes but the final shutdown, which
  // leaves the containers running.
  if (st.frozen && !st.shutting_down && event != slot_event::shutdown)
    return;
  auto i = st.slots.find(port);
  if (i == st.slots.end())
    return;
  auto& s = i->second;
  auto was = s.facts.phase;
  auto step = next_step(s.facts, event, st.cfg.restart, st.keep_on_exit);
  if (step.ignored)
    return;
  if (!reason.empty())
    s.last_error = reason;
  // A container of a rollout's new spec that fails before it is ready ends
  // the rollout.
  bool new_spec = rolling(st) && s.spec == st.target.spec;
  bool before_ready = was == slot_phase::creating || was == slot_phase::starting;
  if (new_spec && before_ready
      && (event == slot_event::unhealthy || event == slot_event::start_failed
          || event == slot_event::start_refused))
    roll_back(self, port, reason.empty() ? to_string(event) : reason);
  if (step.facts.phase != was)
    s.since_ms = unix_ms();
  s.facts = step.facts;
  if (event == slot_event::start_refused)
    log::error("supervisor", "cannot start a container, and retrying cannot help",
               {{"port", port}, {"reason", reason}});
  carry_out(self, port, step);
  finish_shutdown_if_done(self);
}

// -- messages from the container actors -----------------------------------------------------------

/// A container actor terminated: a slot's current one, or one that had
/// released its slot already. Either way its container is gone (or, when
/// left running, no longer ours).
void on_container_down(self_ptr self, const caf::down_msg& msg) {
  auto& st = self->state;
  auto removal = std::find_if(st.removing.begin(), st.removing.end(),
                              [&](const removing_container& r) {
                                return r.actor.address() == msg.source;
                              });
  if (removal != st.removing.end()) {
    note(st, "removed", removal->port, removal->container_id);
    st.removing.erase(removal);
    finish_shutdown_if_done(self);
    return;
  }
  auto i = std::find_if(st.slots.begin(), st.slots.end(), [&](const auto& kv) {
    return kv.second.actor && kv.second.actor.address() == msg.source;
  });
  if (i == st.slots.end())
    return;
  auto port = i->first;
  auto& s = i->second;
  bool left_running = st.shutting_down && st.keep_on_exit;
  if (!s.container_id.empty() && !left_running)
    note(st, "removed", port, s.container_id);
  else if (!left_running && s.facts.phase != slot_phase::stopping && s.last_error.empty())
    s.last_error = "container actor ended unexpectedly";
  s.actor = nullptr;
  on_event(self, port, slot_event::gone);
  replan(self);
}

/// Takes over the containers an earlier run left: each slot starts as
/// adopting, probed once before it serves.
void adopt(self_ptr self, const std::vector<adopted_container>& found) {
  auto& st = self->state;
  for (auto& a : found) {
    auto& s = st.slots[a.port];
    s.facts.phase = slot_phase::adopting;
    s.generation = st.next_generation++;
    s.container_id = a.id;
    s.spec = a.spec;
    s.adopted = true;
    s.launched_at = self->clock().now();
    s.since_ms = unix_ms();
    spawn_container(self, a.port, a.id);
    self->send(st.health, atom::watch_v, a.port, a.id, true);
    log::info("supervisor", "adopting an earlier run's container",
              {{"port", a.port},
               {"container", short_id(a.id)},
               {"spec", a.spec == st.target.spec ? "current" : "another (rolled)"}});
  }
}

pool_status make_status(const supervisor_state& st) {
  pool_status result;
  result.name = st.cfg.pool.name;
  result.desired = st.desired;
  result.min_containers = st.cfg.pool.min_containers;
  result.max_containers = st.cfg.pool.max_containers;
  result.spec = spec_label(st.target.spec);
  result.image_id = st.target.image_id;
  result.rollout = st.rollout;
  result.event_counts = st.event_counts;
  result.deaths = st.deaths;
  result.events.assign(st.events.begin(), st.events.end());
  for (auto& [port, s] : st.slots) {
    // A leaving slot that no longer drains is on its way out: stopping.
    auto state = s.facts.leaving && s.facts.phase != slot_phase::draining
                     && s.facts.phase != slot_phase::backoff
                   ? std::string{"stopping"}
                   : std::string{to_string(s.facts.phase)};
    result.slots.push_back({port, state, s.container_id, s.facts.restarts, s.facts.streak,
                            s.since_ms, s.last_error,
                            s.container_id.empty() ? std::string{} : spec_label(s.spec)});
  }
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
  st.target = make_template(st.cfg.pool, st.cfg.image_id, st.cfg.owner);
  st.keep_on_exit = st.cfg.pool.on_exit == exit_policy::keep;
  auto me = caf::actor_cast<supervisor_actor>(self);
  // Linked: the supervisor and its helpers live and die together.
  st.balancer = self->spawn<caf::linked>(
    balancer, balancer_listener_actor{me},
    balancer_settings{st.cfg.queue, st.cfg.health.passive_failures}, st.cfg.census);
  st.health = self->spawn<caf::linked>(health_checker, health_listener_actor{me},
                                       std::move(probes), st.cfg.health, st.cfg.census);
  st.scaler = self->spawn<caf::linked>(scaler, scale_listener_actor{me}, st.balancer,
                                       st.cfg.scaling, st.cfg.pool.min_containers,
                                       st.cfg.pool.max_containers, st.cfg.census);
  self->set_down_handler([=](caf::down_msg& msg) { on_container_down(self, msg); });
  st.desired = st.cfg.pool.min_containers;
  adopt(self, st.cfg.adopt);
  // Adopted containers of another spec are replaced by a rolling update.
  bool other_spec = std::any_of(st.cfg.adopt.begin(), st.cfg.adopt.end(),
                                [&](const adopted_container& a) { return a.spec != st.target.spec; });
  if (other_spec) {
    // Nothing to roll back to: the earlier run's spec is not this config's.
    st.rollout.state = "rolling";
    st.rollout.from = "earlier run";
    st.rollout.to = spec_label(st.target.spec);
    st.rollout.to_image = st.target.image_id;
    st.rollout.started_ms = unix_ms();
    log::info("supervisor", "adopted containers of another spec: rolling them",
              {{"to", st.rollout.to}});
  }
  st.cfg.adopt.clear();
  replan(self);
  return {
    // -- from container actors ---------------------------------------------------
    [=](atom::started, uint16_t port, const std::string& id) {
      auto& st = self->state;
      auto i = st.slots.find(port);
      if (i == st.slots.end() || !from_current(self, i->second)
          || i->second.facts.phase != slot_phase::creating)
        return; // leaving or shutting down: a stop is already queued for it
      auto& s = i->second;
      s.container_id = id;
      note(st, "started", port, id);
      on_event(self, port, slot_event::started);
      if (s.early_death == id)
        on_event(self, port, slot_event::unhealthy, "exited right after it started");
      replan(self);
    },
    [=](atom::released, uint16_t port) {
      auto& st = self->state;
      auto i = st.slots.find(port);
      if (i == st.slots.end() || !from_current(self, i->second))
        return;
      // The old container actor finishes the removal on its own thread.
      st.removing.push_back({std::move(i->second.actor), port, i->second.container_id});
      i->second.actor = nullptr;
      on_event(self, port, slot_event::released);
      replan(self);
    },
    [=](atom::start_failed, uint16_t port, const std::string& reason, bool retry_may_help) {
      auto& st = self->state;
      auto i = st.slots.find(port);
      if (i == st.slots.end() || !from_current(self, i->second))
        return;
      note(st, "start_failed", port, "", reason);
      log::warn("supervisor", "could not start", {{"port", port}, {"reason", reason}});
      on_event(self, port, retry_may_help ? slot_event::start_failed : slot_event::start_refused,
               reason);
    },
    // -- from the health checker ---------------------------------------------------
    [=](atom::healthy, uint16_t port, const std::string& id) {
      auto& st = self->state;
      auto i = st.slots.find(port);
      if (i == st.slots.end() || i->second.container_id != id)
        return;
      auto& s = i->second;
      auto was = s.facts.phase;
      auto took = std::chrono::duration_cast<std::chrono::milliseconds>(self->clock().now()
                                                                        - s.launched_at);
      if (was == slot_phase::starting) {
        note(st, "ready", port, id, std::to_string(took.count()) + " ms after launch");
        log::info("supervisor", "ready",
                  {{"port", port}, {"container", short_id(id)}, {"took_ms", took.count()}});
      } else if (was == slot_phase::adopting) {
        note(st, "adopted", port, id, "passed its probe");
        log::info("supervisor", "adopted", {{"port", port}, {"container", short_id(id)}});
      } else if (was == slot_phase::checking) {
        log::info("supervisor", "passed its re-check", {{"port", port}});
      }
      on_event(self, port, slot_event::healthy);
      replan(self);
    },
    [=](atom::unhealthy, uint16_t port, const std::string& id, const std::string& reason) {
      auto& st = self->state;
      auto i = st.slots.find(port);
      if (i == st.slots.end() || i->second.container_id != id)
        return;
      auto phase = i->second.facts.phase;
      if (phase == slot_phase::stopping || phase == slot_phase::backoff)
        return;
      note(st, "unhealthy", port, id, reason);
      log::warn("supervisor", i->second.facts.leaving ? "failed while leaving the pool"
                                                      : "failed; replacing it",
                {{"port", port}, {"container", short_id(id)}, {"reason", reason}});
      on_event(self, port, slot_event::unhealthy, "health check failed: " + reason);
      replan(self);
    },
    // -- from the balancer -----------------------------------------------------------
    [=](atom::suspect, uint16_t port) { on_event(self, port, slot_event::suspect); },
    [=](atom::traffic) { self->send(self->state.scaler, atom::traffic_v); },
    // -- from the events feed ----------------------------------------------------------
    [=](atom::died, uint16_t port, const std::string& id, int32_t exit_code, bool oom) {
      auto& st = self->state;
      // Every death of a pool container counts, also one corral caused.
      ++st.deaths[exit_class(exit_code, oom)];
      auto detail = oom ? std::string{"out of memory"} : "exit " + std::to_string(exit_code);
      note(st, oom ? "oom" : "died", port, id, detail);
      auto i = st.slots.find(port);
      if (i == st.slots.end())
        return;
      auto& s = i->second;
      if (s.facts.phase == slot_phase::creating && s.container_id.empty()) {
        s.early_death = id; // `started` is still on its way
        return;
      }
      if (s.container_id != id || s.facts.phase == slot_phase::stopping)
        return; // an old container, or one corral is removing anyway
      log::warn("supervisor", "died; replacing it",
                {{"port", port}, {"container", short_id(id)}, {"reason", detail}});
      on_event(self, port, slot_event::unhealthy,
               oom ? std::string{"killed: out of memory"} : "exited with status "
                                                               + std::to_string(exit_code));
      replan(self);
    },
    [=](atom::resync, const std::vector<observed_container>& seen) {
      auto& st = self->state;
      std::vector<uint16_t> lost;
      std::vector<uint16_t> waiting;
      for (auto& [port, s] : st.slots) {
        auto phase = s.facts.phase;
        if (phase == slot_phase::backoff && !s.facts.leaving)
          waiting.push_back(port);
        if (s.container_id.empty() || phase == slot_phase::stopping
            || phase == slot_phase::backoff || phase == slot_phase::creating)
          continue;
        auto alive = std::any_of(seen.begin(), seen.end(), [&](const observed_container& c) {
          return c.id == s.container_id && c.running;
        });
        if (!alive)
          lost.push_back(port);
      }
      for (auto port : lost)
        on_event(self, port, slot_event::unhealthy, "gone while the Docker events stream was down");
      // The stream (re)connected, so the daemon answers again: slots whose
      // backoff grew while it was away retry now instead of sitting it out.
      for (auto port : waiting) {
        log::info("supervisor", "the Docker daemon answers: starting again now", {{"port", port}});
        on_event(self, port, slot_event::retry);
      }
      replan(self);
    },
    // -- from the scaler -----------------------------------------------------------------
    [=](atom::scale, uint32_t size) -> uint32_t {
      auto& st = self->state;
      if (st.shutting_down || st.frozen)
        return st.desired;
      auto before = st.desired;
      st.desired = std::clamp(size, st.cfg.pool.min_containers, st.cfg.pool.max_containers);
      if (st.desired != before)
        log_event(st, "scale", 0, "",
                  std::to_string(before) + " -> " + std::to_string(st.desired));
      replan(self);
      return st.desired;
    },
    // INTERNAL: a slot's backoff passed.
    [=](atom::restart, uint16_t port, uint64_t generation) {
      auto& st = self->state;
      auto i = st.slots.find(port);
      if (i == st.slots.end() || i->second.generation != generation)
        return;
      log::info("supervisor", "starting again", {{"port", port}});
      on_event(self, port, slot_event::backoff_passed);
      replan(self);
    },
    // -- from the app --------------------------------------------------------------------
    [=](atom::reload, pool_update& update) {
      auto& st = self->state;
      if (st.shutting_down || st.frozen)
        return;
      st.cfg.health = update.health;
      st.cfg.restart = update.restart;
      st.cfg.scaling = update.scaling;
      st.cfg.rollout = update.rollout;
      st.cfg.queue = update.queue;
      st.cfg.pool.min_containers = update.pool.min_containers;
      st.cfg.pool.max_containers = update.pool.max_containers;
      st.cfg.pool.on_exit = update.pool.on_exit;
      st.keep_on_exit = update.pool.on_exit == exit_policy::keep;
      self->send(st.health, atom::reload_v, update.health);
      self->send(st.scaler, atom::reload_v, update.scaling, update.pool.min_containers,
                 update.pool.max_containers);
      self->send(st.balancer, atom::reload_v,
                 balancer_settings{update.queue, update.health.passive_failures});
      st.desired = std::clamp(st.desired, update.pool.min_containers,
                              update.pool.max_containers);
      // What is not part of the spec (name, ports, the run dir) needs a
      // restart; main refused those already.
      update.pool.name = st.cfg.pool.name;
      update.pool.start_port = st.cfg.pool.start_port;
      st.cfg.pool = update.pool;
      roll_out(self, make_template(update.pool, update.image_id, st.cfg.owner));
      // A reload is also the way to retry slots that gave up.
      std::vector<uint16_t> failed;
      for (auto& [port, s] : st.slots)
        if (s.facts.phase == slot_phase::failed)
          failed.push_back(port);
      for (auto port : failed)
        on_event(self, port, slot_event::retry);
      replan(self);
    },
    [=](atom::freeze, bool frozen) {
      auto& st = self->state;
      st.frozen = frozen;
      log::info("supervisor", frozen ? "frozen: a successor takes the pool over"
                                     : "resumed: the successor went away",
                {{"containers", st.slots.size()}});
      if (!frozen)
        replan(self);
    },
    [=](caf::get_atom, atom::helpers) {
      auto& st = self->state;
      return std::make_tuple(st.balancer, st.health, st.scaler);
    },
    [=](caf::get_atom, atom::status) { return make_status(self->state); },
    [=](atom::shutdown, bool leave_running) -> caf::result<bool> {
      auto& st = self->state;
      st.shutting_down = true;
      st.keep_on_exit = leave_running;
      log::info("supervisor",
                leave_running ? "leaving the pool's containers running"
                              : "removing the pool's containers",
                {{"pool", st.cfg.pool.name}, {"containers", st.slots.size()}});
      std::vector<uint16_t> ports;
      for (auto& [port, s] : st.slots)
        ports.push_back(port);
      for (auto port : ports)
        on_event(self, port, slot_event::shutdown);
      // A slot whose container actor is gone already has nothing to wait for.
      for (auto i = st.slots.begin(); i != st.slots.end();)
        i = i->second.actor ? std::next(i) : st.slots.erase(i);
      if (leave_running)
        for (auto& r : st.removing)
          self->send_exit(r.actor, caf::exit_reason::user_shutdown);
      if (st.slots.empty() && st.removing.empty())
        return true;
      auto promise = self->make_response_promise<bool>();
      st.shutdown_waiters.push_back(promise);
      return promise;
    },
  };
}

} // namespace corral
