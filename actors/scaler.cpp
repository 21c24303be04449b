// The SCALER's handlers: window ticks and the decision per window.
#include "actors/scaler.hpp"

#include "actors/wall_clock.hpp"
#include "log/log.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>

namespace corral {

namespace {

using self_ptr = metered_pointer<scaler_actor, scaler_state>;

/// Starts a window of the current interval; an earlier window's pending
/// tick no longer counts.
void start_window(self_ptr self) {
  auto& st = self->state;
  st.window_open = true;
  ++st.window_id;
  self->delayed_send(self, st.settings.interval, caf::tick_atom_v, st.window_id);
}

void open_window(self_ptr self) {
  if (!self->state.window_open)
    start_window(self);
}

/// Applies the rule to one closed window.
void decide(self_ptr self, uint64_t requests) {
  auto& st = self->state;
  auto wanted = desired_size(requests, st.settings.requests_per_container, st.min_size,
                             st.max_size);
  auto [target, reason] = st.decider->decide(st.current, wanted);
  if (reason == scale_reason::rule && rule_size(requests, st.settings.requests_per_container) != wanted)
    reason = scale_reason::bounds;
  auto& counters = st.counters;
  ++counters.windows;
  counters.last_window_requests = requests;
  counters.last = {st.current, target, scale_direction(st.current, target), to_string(reason),
                   requests, unix_ms()};
  ++counters.decisions[{counters.last.direction, counters.last.reason}];
  if (target == st.current) {
    log::info("scaler", "window closed; the pool stays",
              {{"requests", requests}, {"wanted", wanted}, {"size", st.current}});
    return;
  }
  log::info("scaler", "window closed; scaling",
            {{"requests", requests}, {"wanted", wanted}, {"from", st.current}, {"to", target}});
  st.current = target;
  // The supervisor's own answer is the truth: it clamps too.
  self->request(st.listener, caf::infinite, atom::scale_v, target)
    .then([=](uint32_t size) { self->state.current = size; });
}

} // namespace

scaler_actor::behavior_type scaler(self_ptr self, scale_listener_actor listener,
                                   balancer_actor balancer, scaling_settings settings,
                                   uint32_t min_size, uint32_t max_size,
                                   std::shared_ptr<metrics::actor_census> census) {
  self->enlist(std::move(census), "scaler");
  auto& st = self->state;
  st.listener = std::move(listener);
  st.balancer = std::move(balancer);
  st.settings = settings;
  st.min_size = min_size;
  st.max_size = max_size;
  st.current = min_size;
  st.decider.emplace(settings.scale_down_after, settings.max_step);
  st.counters.interval_ms = static_cast<uint64_t>(settings.interval.count());
  if (settings.start == scaling_start::startup)
    open_window(self);
  return {
    // The first proxied request.
    [=](atom::traffic) { open_window(self); },
    [=](caf::get_atom, atom::status) { return self->state.counters; },
    // New settings from the next window on; a window that waits for the
    // first request keeps waiting.
    [=](atom::reload, const scaling_settings& settings, uint32_t min_size, uint32_t max_size) {
      auto& st = self->state;
      bool new_interval = settings.interval != st.settings.interval;
      st.settings = settings;
      st.min_size = min_size;
      st.max_size = max_size;
      st.current = std::clamp(st.current, min_size, max_size);
      st.decider.emplace(settings.scale_down_after, settings.max_step);
      st.counters.interval_ms = static_cast<uint64_t>(settings.interval.count());
      // A window of the old length ends now and is judged; the next has the
      // new length.
      if (st.window_open && new_interval) {
        start_window(self);
        self->request(st.balancer, caf::infinite, atom::count_v)
          .then([=](uint64_t requests) { decide(self, requests); });
      } else if (settings.start == scaling_start::startup) {
        open_window(self);
      }
    },
    // INTERNAL: a window ended; the next one starts now.
    [=](caf::tick_atom, uint64_t window) {
      if (window != self->state.window_id)
        return; // a window a reload cut short
      start_window(self);
      self->request(self->state.balancer, caf::infinite, atom::count_v)
        .then([=](uint64_t requests) { decide(self, requests); });
    },
  };
}

} // namespace corral
