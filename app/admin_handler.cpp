// Answers admin requests by asking the actors for their counters.
#include "app/admin_handler.hpp"

#include "actors/actors.hpp"
#include "actors/metered_actor.hpp"
#include "app/admin_documents.hpp"
#include "app/dashboard.hpp"

#include <caf/all.hpp>

#include <chrono>

namespace corral {

namespace {

constexpr auto ask_timeout = std::chrono::seconds(2);

/// What one admin request shows.
enum class document : uint8_t { status, metrics, events };

/// One admin request's gathering: four answers, then one document.
struct gather_state {
  admin_snapshot snap;
  int pending = 4;
  bool answered = false;

  static inline const char* name = "admin";
};

using gather_actor = caf::stateful_actor<gather_state, metered<caf::event_based_actor>>;

/// Asks the four actors at once and renders `what` when the last answer
/// came; the first error answers 503. Quits either way.
void gather(gather_actor* self, const admin_sources& src, document what,
            admin_server::reply_function reply) {
  self->enlist(src.census, "admin");
  auto finish = [=] {
    auto& st = self->state;
    if (--st.pending > 0 || st.answered)
      return;
    st.answered = true;
    auto& snap = st.snap;
    snap.image = src.image;
    snap.proxy = src.proxy_counters();
    snap.actors = src.census ? src.census->snapshot(metrics::actor_census::now_ns())
                             : std::vector<metrics::actor_series>{};
    snap.process = read_process_info(CORRAL_VERSION, src.started_ms);
    switch (what) {
      case document::metrics:
        reply(200, "text/plain; version=0.0.4", render_metrics(snap));
        break;
      case document::events:
        reply(200, "application/json", render_events_json(snap.pool));
        break;
      case document::status:
        reply(200, "application/json", render_status_json(snap));
        break;
    }
    self->quit();
  };
  auto fail = [=](const caf::error& err) {
    if (!std::exchange(self->state.answered, true))
      reply(503, "text/plain",
            "corral is shutting down or busy: " + self->system().render(err) + "\n");
    self->quit();
  };
  auto& snap = self->state.snap;
  self->request(caf::actor_cast<supervisor_actor>(src.supervisor), ask_timeout,
                caf::get_atom_v, atom::status_v)
    .then([=, &snap](pool_status& pool) { snap.pool = std::move(pool); finish(); }, fail);
  self->request(caf::actor_cast<balancer_actor>(src.balancer), ask_timeout, caf::get_atom_v,
                atom::status_v)
    .then([=, &snap](balancer_status& b) { snap.balancer = std::move(b); finish(); }, fail);
  self->request(caf::actor_cast<health_checker_actor>(src.health), ask_timeout,
                caf::get_atom_v, atom::status_v)
    .then([=, &snap](health_status& h) { snap.health = std::move(h); finish(); }, fail);
  self->request(caf::actor_cast<scaler_actor>(src.scaler), ask_timeout, caf::get_atom_v,
                atom::status_v)
    .then([=, &snap](scaler_status& s) { snap.scaler = std::move(s); finish(); }, fail);
}

} // namespace

admin_server::handler_function make_admin_handler(caf::actor_system& sys, admin_sources sources) {
  return [&sys, src = std::move(sources)](std::string_view path,
                                          admin_server::reply_function reply) {
    if (path == "/healthz") {
      reply(200, "text/plain", "ok\n");
      return;
    }
    if (path == "/") {
      // The live dashboard: a page that polls /status and /events itself.
      reply(200, "text/html; charset=utf-8", std::string{dashboard_html()});
      return;
    }
    document what;
    if (path == "/metrics")
      what = document::metrics;
    else if (path == "/status")
      what = document::status;
    else if (path == "/events")
      what = document::events;
    else {
      reply(404, "text/plain", "not found; try GET /status, /metrics or /events\n");
      return;
    }
    // With its inputs as spawn arguments: CAF 0.17.6 binds a reference to a
    // null tuple when an actor is spawned with none (UBSan reports it).
    sys.spawn(gather, src, what, std::move(reply));
  };
}

} // namespace corral
