// Answers admin requests by asking the supervisor and the balancer.
#include "app/admin_handler.hpp"

#include "actors/actors.hpp"
#include "app/admin_documents.hpp"

#include <caf/all.hpp>

#include <chrono>

namespace corral {

namespace {

constexpr auto ask_timeout = std::chrono::seconds(2);

const char* const index_text = "corral admin endpoint\n"
                               "  GET /status   pool, balancer and proxy as JSON\n"
                               "  GET /metrics  the same in the Prometheus text format\n"
                               "  GET /healthz  200 while corral runs\n";

} // namespace

admin_server::handler_function make_admin_handler(caf::actor_system& sys,
                                                  const caf::actor& supervisor,
                                                  const caf::actor& balancer,
                                                  std::string image,
                                                  std::function<proxy_stats()> proxy_counters) {
  auto sup = caf::actor_cast<supervisor_actor>(supervisor);
  auto bal = caf::actor_cast<balancer_actor>(balancer);
  return [&sys, sup, bal, image, proxy_counters](std::string_view path,
                                                 admin_server::reply_function reply) {
    if (path == "/healthz") {
      reply(200, "text/plain", "ok\n");
      return;
    }
    if (path == "/") {
      reply(200, "text/plain", index_text);
      return;
    }
    bool metrics = path == "/metrics";
    if (!metrics && path != "/status") {
      reply(404, "text/plain", "not found; try GET /status or /metrics\n");
      return;
    }
    sys.spawn([=](caf::event_based_actor* self) {
      auto fail = [=](const caf::error& err) {
        reply(503, "text/plain",
              "corral is shutting down or busy: " + self->system().render(err) + "\n");
      };
      self->request(sup, ask_timeout, caf::get_atom_v, atom::status_v)
        .then(
          [=](pool_status& pool) {
            self->request(bal, ask_timeout, caf::get_atom_v, atom::status_v)
              .then(
                [=](balancer_status& balancer) {
                  admin_snapshot snap{image, pool, std::move(balancer), proxy_counters()};
                  if (metrics)
                    reply(200, "text/plain; version=0.0.4", render_metrics(snap));
                  else
                    reply(200, "application/json", render_status_json(snap));
                },
                fail);
          },
          fail);
    });
  };
}

} // namespace corral
