// The BALANCER's handlers: the per-request ask, rotation changes and drains.
#include "actors/balancer.hpp"

#include "log/log.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>

namespace corral {

namespace {

using self_ptr = metered_pointer<balancer_actor, balancer_state>;

/// Answers every drain of `port` once nothing is in flight there any more.
void settle_drains(balancer_state& st, uint16_t port) {
  auto i = st.backends.find(port);
  if (i == st.backends.end() || i->second.in_flight > 0)
    return;
  for (auto& drain : i->second.drains)
    drain.promise.deliver(true);
  i->second.drains.clear();
}

/// One handed-out port came back, finished or failed.
void settle(balancer_state& st, uint16_t port) {
  auto i = st.backends.find(port);
  if (i == st.backends.end() || i->second.in_flight == 0)
    return; // a report for a port the balancer never handed out: ignore
  if (--i->second.in_flight == 0)
    settle_drains(st, port);
}

/// Hands out the ports one ask wants, consecutive in the rotation (which
/// must not be empty).
void hand_out(self_ptr self, port_ask& ask) {
  auto& st = self->state;
  auto wanted = ask.fresh + ask.retries;
  std::vector<uint16_t> ports;
  ports.reserve(wanted);
  for (uint32_t i = 0; i < wanted; ++i) {
    auto port = *st.rotation.next();
    auto& entry = st.backends[port];
    ++entry.in_flight;
    ++entry.served;
    ++entry.total;
    ports.push_back(port);
  }
  st.handed_out += wanted;
  st.window_requests += ask.fresh;
  if (ask.fresh > 0 && !st.seen_traffic) {
    st.seen_traffic = true;
    self->send(st.listener, atom::traffic_v);
  }
  ask.reply->deliver(std::move(ports));
}

/// Takes `port` out of the rotation on a passive signal and has the owner
/// re-check it. Bad answers (`capped`) never take more than half of the
/// ready backends out (Envoy's panic threshold): then the port stays, and
/// the health checker's probes decide alone. A refused connection is not
/// capped: a port nothing listens on cannot serve, and its requests are
/// better off waiting for a ready backend than failing there.
void eject(self_ptr self, uint16_t port, const char* why, bool capped) {
  auto& st = self->state;
  auto& entry = st.backends[port];
  if (entry.ejected || !st.rotation.contains(port))
    return;
  size_t ejected = 0;
  for (auto& [p, e] : st.backends)
    ejected += e.ejected ? 1 : 0;
  auto ready = st.rotation.size() + ejected;
  if (capped && ejected + 1 > ready / 2) {
    ++st.ejections_capped;
    log::warn("balancer", "looks bad, but the ejection cap keeps it in the rotation",
              {{"port", port}, {"why", why}, {"ejected", ejected}, {"ready", ready}});
    return;
  }
  st.rotation.remove(port);
  entry.ejected = true;
  ++st.ejections;
  log::warn("balancer", "out of the rotation until it passes a probe", {{"port", port}, {"why", why}});
  self->send(st.listener, atom::suspect_v, port);
}

/// Answers an ask with no port: the proxy answers 503.
void refuse(balancer_state& st, port_ask& ask) {
  st.no_backend += ask.fresh;
  ask.reply->deliver({});
}

/// No backend is ready: the ask waits for one, while the queue has room and
/// its oldest request has time left.
void park(self_ptr self, port_ask& ask) {
  auto& st = self->state;
  uint64_t wanted = ask.fresh + ask.retries;
  auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(st.settings.queue.timeout) - ask.waited;
  if (left.count() <= 0 || st.parked_requests + wanted > st.settings.queue.max) {
    st.queue_timeouts += wanted;
    refuse(st, ask);
    return;
  }
  auto id = st.next_ask_id++;
  st.parked_requests += wanted;
  st.queued += wanted;
  st.parked.push_back({id, std::move(ask)});
  self->delayed_send(self, left, caf::timeout_atom_v, id);
}

/// A backend is ready again: the waiting asks get their ports, oldest first.
void serve_parked(self_ptr self) {
  auto& st = self->state;
  while (!st.parked.empty() && !st.rotation.empty()) {
    auto next = std::move(st.parked.front());
    st.parked.pop_front();
    st.parked_requests -= next.ask.fresh + next.ask.retries;
    hand_out(self, next.ask);
  }
}

} // namespace

balancer_actor::behavior_type balancer(self_ptr self, balancer_listener_actor listener,
                                       balancer_settings settings,
                                       std::shared_ptr<metrics::actor_census> census) {
  self->enlist(std::move(census), "balancer");
  self->state.listener = std::move(listener);
  self->state.settings = settings;
  return {
    // The proxy's batched ask.
    [=](atom::next, port_ask& ask) {
      auto& st = self->state;
      for (auto port : ask.finished) {
        settle(st, port);
        st.backends[port].bad_in_a_row = 0;
      }
      for (auto port : ask.bad) {
        settle(st, port);
        auto& entry = st.backends[port];
        auto limit = st.settings.passive_failures;
        if (limit > 0 && ++entry.bad_in_a_row >= limit) {
          entry.bad_in_a_row = 0;
          eject(self, port, "5xx answers or broken answers in a row", true);
        }
      }
      for (auto port : ask.failed) {
        settle(st, port);
        ++st.failed;
        // A refused port leaves the rotation now, not at the next probe; the
        // supervisor has it re-checked before it may come back.
        eject(self, port, "refused a connection", false);
      }
      if (!ask.reply)
        return;
      // Waiting asks go first: round robin and fairness both want that.
      if (st.rotation.empty() || !st.parked.empty())
        park(self, ask);
      else
        hand_out(self, ask);
    },
    // A container passed its first probe.
    [=](atom::up, uint16_t port) {
      auto& st = self->state;
      st.rotation.add(port);
      auto& entry = st.backends[port];
      entry.served = 0;
      entry.ejected = false;
      entry.bad_in_a_row = 0;
      // A port that comes back while a drain waits was kept after all.
      for (auto& drain : entry.drains)
        drain.promise.deliver(false);
      entry.drains.clear();
      serve_parked(self);
    },
    [=](atom::reload, const balancer_settings& settings) { self->state.settings = settings; },
    // INTERNAL: a waiting ask's time is up.
    [=](caf::timeout_atom, uint64_t id) {
      auto& st = self->state;
      auto i = std::find_if(st.parked.begin(), st.parked.end(),
                            [&](const balancer_state::parked_ask& p) { return p.id == id; });
      if (i == st.parked.end())
        return; // served meanwhile
      auto expired = std::move(*i);
      st.parked.erase(i);
      st.parked_requests -= expired.ask.fresh + expired.ask.retries;
      st.queue_timeouts += expired.ask.fresh + expired.ask.retries;
      refuse(st, expired.ask);
    },
    // Stop routing to a port.
    [=](atom::down, uint16_t port) {
      self->state.rotation.remove(port);
      self->state.backends[port].ejected = false;
    },
    // Stop routing, answer once its requests finished.
    [=](atom::drain, uint16_t port, caf::timespan timeout) -> caf::result<bool> {
      auto& st = self->state;
      st.rotation.remove(port);
      auto i = st.backends.find(port);
      if (i == st.backends.end() || i->second.in_flight == 0)
        return true;
      auto id = st.next_drain_id++;
      auto promise = self->make_response_promise<bool>();
      i->second.drains.push_back({id, promise});
      self->delayed_send(self, timeout, caf::timeout_atom_v, port, id);
      return promise;
    },
    // The scaler closes a window.
    [=](atom::count) -> uint64_t {
      auto n = self->state.window_requests;
      self->state.window_requests = 0;
      return n;
    },
    [=](caf::get_atom, atom::status) -> balancer_status {
      auto& st = self->state;
      balancer_status result;
      for (auto& [port, entry] : st.backends) {
        bool routable = st.rotation.contains(port);
        if (!routable && entry.in_flight == 0)
          continue;
        result.backends.push_back({port, entry.in_flight, entry.served, !routable});
      }
      for (auto& [port, entry] : st.backends)
        result.requests_by_port.push_back({port, entry.total});
      result.ready = static_cast<uint32_t>(st.rotation.size());
      result.handed_out = st.handed_out;
      result.no_backend = st.no_backend;
      result.failed = st.failed;
      result.window_requests = st.window_requests;
      result.queued_now = st.parked_requests;
      result.queued = st.queued;
      result.queue_timeouts = st.queue_timeouts;
      result.ejections = st.ejections;
      result.ejections_capped = st.ejections_capped;
      return result;
    },
    // INTERNAL: a drain's deadline passed.
    [=](caf::timeout_atom, uint16_t port, uint64_t id) {
      auto i = self->state.backends.find(port);
      if (i == self->state.backends.end())
        return;
      auto& drains = i->second.drains;
      for (auto d = drains.begin(); d != drains.end(); ++d)
        if (d->id == id) {
          log::warn("balancer", "requests still in flight at the drain timeout",
                    {{"port", port}, {"in_flight", i->second.in_flight}});
          d->promise.deliver(false);
          drains.erase(d);
          return;
        }
    },
  };
}

} // namespace corral
