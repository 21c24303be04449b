// The SCALER's handlers: window ticks and the decision per window.
#include "actors/scaler.hpp"

#include "log/log.hpp"

#include <caf/all.hpp>

#include <chrono>

namespace corral {

namespace {

using self_ptr = metered_pointer<scaler_actor, scaler_state>;

int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void open_window(self_ptr self) {
  if (self->state.window_open)
    return;
  self->state.window_open = true;
  self->delayed_send(self, self->state.settings.interval, caf::tick_atom_v);
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
  if (settings.start == scaling_start::startup)
    open_window(self);
  return {
    // The first proxied request.
    [=](atom::traffic) { open_window(self); },
    [=](caf::get_atom, atom::status) { return self->state.counters; },
    // INTERNAL: a window ended; the next one starts now.
    [=](caf::tick_atom) {
      self->delayed_send(self, self->state.settings.interval, caf::tick_atom_v);
      self->request(self->state.balancer, caf::infinite, atom::count_v)
        .then([=](uint64_t requests) { decide(self, requests); });
    },
  };
}

} // namespace corral
