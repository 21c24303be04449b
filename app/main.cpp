// corral's entry point: command line, config, preflight, wiring, and the
// shutdown order (io first, then actors, then the system).
#include "actors/actors.hpp"
#include "actors/supervisor.hpp"
#include "app/admin_handler.hpp"
#include "app/cli.hpp"
#include "app/config.hpp"
#include "app/preflight.hpp"
#include "log/log.hpp"
#include "proxy/admin_server.hpp"
#include "proxy/balancer_client.hpp"
#include "proxy/proxy_server.hpp"
#include "runtime/docker_runtime.hpp"
#include "runtime/event_feed.hpp"
#include "runtime/http_prober.hpp"

#include <caf/all.hpp>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <thread>
#include <unistd.h>

namespace corral {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_unusable = 1; // Docker, the image or a listen address
constexpr int exit_bad_config = 2;

/// Prints one line for the user and returns `code`.
int fail(int code, const std::string& message) {
  std::cerr << "corral: " << message << std::endl;
  return code;
}

/// Blocks SIGINT and SIGTERM in this thread and in every thread started
/// later, so that only main's sigwait() sees them: no handler runs on an io
/// thread or an actor thread, and shutdown is ordinary code in main.
sigset_t block_shutdown_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

std::string owner_label() {
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  return std::string{"corral@"} + host;
}

/// A second SIGINT/SIGTERM during the graceful shutdown ends corral at once,
/// as users expect from Ctrl-C pressed twice.
void exit_on_second_signal(sigset_t signals) {
  std::thread{[signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    log::warn("corral", "second signal: exiting now; containers may be left behind "
                        "(the next start removes them)",
              {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
    std::_Exit(130);
  }}.detach();
}

/// Unix milliseconds now.
int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

/// Runs the pool until a signal, then shuts down in order. Preflight passed.
int run(const config& cfg, sigset_t signals, std::shared_ptr<docker_runtime> runtime) {
  auto started_ms = unix_ms();
  if (auto removed = remove_leftovers(*runtime, cfg.pool.name); !removed)
    return fail(exit_unusable, removed.error().message);
  else if (*removed > 0)
    log::info("corral", "removed containers an earlier run left behind",
              {{"pool", cfg.pool.name}, {"containers", *removed}});

  caf::actor_system_config actor_cfg;
  // Work sharing wakes a worker at once; the default work-stealing policy
  // polls in 50 us steps, which cost the proxy throughput (DESIGN.md).
  actor_cfg.set("scheduler.policy", caf::atom("sharing"));
  actor_cfg.set("scheduler.max-threads", 2);
  caf::actor_system sys{actor_cfg};

  // Every actor measures itself into the census; /metrics reads it.
  auto census = std::make_shared<metrics::actor_census>();
  supervisor_config sup_cfg;
  sup_cfg.census = census;
  sup_cfg.pool = cfg.pool;
  sup_cfg.health = cfg.health;
  sup_cfg.restart = cfg.restart;
  sup_cfg.scaling = cfg.scaling;
  sup_cfg.owner = owner_label();
  auto probes = std::make_shared<http_prober>(cfg.health.path);
  auto sup = sys.spawn(supervisor, sup_cfg, runtime, probes);

  balancer_actor bal;
  health_checker_actor health;
  scaler_actor scale;
  {
    caf::scoped_actor self{sys};
    self->request(sup, caf::infinite, caf::get_atom_v, atom::helpers_v)
      .receive(
        [&](balancer_actor& b, health_checker_actor& h, scaler_actor& s) {
          bal = std::move(b);
          health = std::move(h);
          scale = std::move(s);
        },
        [](caf::error&) {});
  }

  // Deaths reach the supervisor at once; after every (re)connection of the
  // stream, the full list corrects whatever was missed meanwhile.
  event_feed feed{
    *runtime,
    {{labels::pool, cfg.pool.name}},
    [sup](const runtime_event& ev) {
      if (ev.what == runtime_event::kind::die || ev.what == runtime_event::kind::oom)
        caf::anon_send(sup, atom::died_v, ev.port, ev.id, int32_t{ev.exit_code},
                       ev.what == runtime_event::kind::oom);
    },
    [sup](std::vector<container_info> containers) {
      std::vector<observed_container> seen;
      for (auto& c : containers)
        seen.push_back({c.port, c.id, c.status == container_status::running});
      caf::anon_send(sup, atom::resync_v, std::move(seen));
    }};
  feed.start();

  auto bal_handle = caf::actor_cast<caf::actor>(bal);
  proxy_server proxy{cfg.proxy, [bal_handle](boost::asio::io_context& ioc, unsigned,
                                             thread_counters& counters) {
                       return make_balancer_client(ioc, bal_handle, counters);
                     }};
  admin_sources sources;
  sources.supervisor = caf::actor_cast<caf::actor>(sup);
  sources.balancer = bal_handle;
  sources.health = caf::actor_cast<caf::actor>(health);
  sources.scaler = caf::actor_cast<caf::actor>(scale);
  sources.census = census;
  sources.image = cfg.pool.image;
  sources.proxy_counters = [&proxy] { return proxy.stats(); };
  sources.started_ms = started_ms;
  admin_server admin{cfg.admin, make_admin_handler(sys, std::move(sources))};
  std::optional<std::string> startup_error;
  try {
    proxy.start();
    admin.start();
  } catch (const std::exception& err) {
    startup_error = err.what();
  }

  if (!startup_error) {
    log::info("corral", "running",
              {{"proxy", cfg.proxy.listen.host + ":" + std::to_string(proxy.port())},
               {"admin", cfg.admin.listen.host + ":" + std::to_string(admin.port())},
               {"pool", cfg.pool.name},
               {"image", cfg.pool.image},
               {"start_port", cfg.pool.start_port},
               {"min_containers", cfg.pool.min_containers},
               {"max_containers", cfg.pool.max_containers}});
    int sig = 0;
    sigwait(&signals, &sig);
    log::info("corral", "finishing requests in flight, then removing the pool",
              {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
    exit_on_second_signal(signals);
  }

  // 1. io first: no new requests, in-flight ones finish (bounded).
  proxy.shutdown();
  admin.shutdown();
  feed.stop();
  // 2. the pool: every container stopped and removed (or kept).
  {
    caf::scoped_actor self{sys};
    auto grace = std::chrono::duration_cast<std::chrono::seconds>(cfg.pool.stop_timeout)
                 + std::chrono::seconds{30};
    self->request(sup, grace, atom::shutdown_v)
      .receive([](bool) {},
               [&](caf::error& err) {
                 log::error("corral", "the pool did not stop in time; containers may be left behind",
                            {{"error", sys.render(err)}});
               });
  }
  // 3. the actors, then (on return) the io side and the system.
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  sys.await_all_actors_done();
  if (startup_error)
    return fail(exit_unusable, *startup_error);
  log::info("corral", "stopped");
  return exit_ok;
}

int corral_main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  auto parsed = parse_cli(args);
  if (auto* usage_error = std::get_if<std::string>(&parsed)) {
    std::cerr << "corral: " << *usage_error << "\n\n" << usage_text();
    return exit_bad_config;
  }
  auto opts = std::get<cli_options>(parsed);
  if (opts.what == cli_options::action::help) {
    std::cout << usage_text();
    return exit_ok;
  }
  if (opts.what == cli_options::action::version) {
    std::cout << version_text();
    return exit_ok;
  }

  config cfg;
  if (!opts.config_path.empty()) {
    auto loaded = load_config(opts.config_path);
    if (auto* err = std::get_if<config_error>(&loaded))
      return fail(exit_bad_config, err->render());
    cfg = std::get<config>(std::move(loaded));
  }
  if (opts.what == cli_options::action::check_config) {
    std::cout << opts.config_path << ": valid\n";
    return exit_ok;
  }
  log::set_level(cfg.log_level);
  log::set_format(cfg.log_format);
  auto signals = block_shutdown_signals();

  // Preflight: each problem is one line and nothing was created yet.
  auto runtime = std::make_shared<docker_runtime>(cfg.docker.socket);
  if (auto image = check_docker(*runtime, cfg.pool); !image)
    return fail(exit_unusable, image.error().message);
  if (auto problem = check_listen(cfg.proxy.listen, "proxy"))
    return fail(exit_unusable, *problem);
  if (auto problem = check_listen(cfg.admin.listen, "admin"))
    return fail(exit_unusable, *problem);
  return run(cfg, signals, std::move(runtime));
}

} // namespace
} // namespace corral

int main(int argc, char** argv) {
  return corral::corral_main(argc, argv);
}
