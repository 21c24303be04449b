// corral's entry point: command line, config, preflight, wiring, and the
// shutdown order (io first, then actors, then the system).
#include "actors/actors.hpp"
#include "actors/adoption.hpp"
#include "actors/container.hpp"
#include "actors/static_pool.hpp"
#include "actors/supervisor.hpp"
#include "actors/wall_clock.hpp"
#include "app/admin_handler.hpp"
#include "app/cli.hpp"
#include "app/config.hpp"
#include "app/pool_lock.hpp"
#include "app/preflight.hpp"
#include "app/takeover.hpp"
#include "log/log.hpp"
#include "proxy/admin_server.hpp"
#include "proxy/balancer_client.hpp"
#include "proxy/limits.hpp"
#include "proxy/proxy_server.hpp"
#include "runtime/death_classifier.hpp"
#include "runtime/docker_runtime.hpp"
#include "runtime/event_feed.hpp"
#include "runtime/http_prober.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <future>
#include <iostream>
#include <optional>
#include <poll.h>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>

namespace corral {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_unusable = 1; // Docker, the image, a listen address, the pool
constexpr int exit_bad_config = 2;

/// Prints one line for the user and returns `code`.
int fail(int code, const std::string& message) {
  std::cerr << "corral: " << message << std::endl;
  return code;
}

/// Blocks the signals corral handles in this thread and in every thread
/// started later, so that only main's sigwait() sees them: no handler runs on
/// an io thread or an actor thread, and shutdown, reload and handover are
/// ordinary code in main. SIGUSR1 is corral's own: the takeover socket's
/// thread raises it when a successor asks for the pool.
sigset_t block_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1})
    sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

std::string owner_label() {
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  return std::string{"corral@"} + host;
}

std::string address(const endpoint& ep) {
  return ep.host + ":" + std::to_string(ep.port);
}

std::string takeover_path(const config& cfg) {
  return cfg.pool.run_dir + "/" + cfg.pool.name + ".sock";
}

/// A second SIGINT/SIGTERM during the graceful shutdown ends corral at once,
/// as users expect from Ctrl-C pressed twice.
void exit_on_second_signal(sigset_t signals) {
  sigdelset(&signals, SIGHUP);
  sigdelset(&signals, SIGUSR1);
  std::thread{[signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    log::warn("corral", "second signal: exiting now; containers may be left behind "
                        "(the next start adopts or removes them)",
              {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
    std::_Exit(130);
  }}.detach();
}

/// Raises the soft open-file limit to the hard one (corral's connections
/// are bounded by max_connections, not by a low default); returns it.
uint64_t raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    auto raised = limit;
    raised.rlim_cur = raised.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0)
      limit = raised;
  }
  return limit.rlim_cur;
}

/// The containers an earlier run of the pool left: adopted or removed.
result<std::vector<adopted_container>> take_stock(container_runtime& runtime, const config& cfg,
                                                  const std::string& image_id) {
  auto found = runtime.list({{labels::pool, cfg.pool.name}});
  if (!found)
    return found.error();
  auto spec = spec_fingerprint(make_container_spec(cfg.pool, image_id, "", 0));
  auto plan = plan_adoption(*found, cfg.pool.name, cfg.pool.start_port,
                            cfg.pool.min_containers, spec);
  std::vector<std::future<result<void>>> removals;
  for (auto& r : plan.remove) {
    log::info("corral", "removing a container an earlier run left",
              {{"container", r.name}, {"reason", r.reason}});
    removals.push_back(std::async(std::launch::async, [&runtime, id = r.id] {
      return runtime.remove(id, true);
    }));
  }
  for (auto& removal : removals)
    if (auto removed = removal.get(); !removed)
      return removed.error();
  return plan.adopt;
}

/// What a reloaded config means for the pool.
pool_update make_update(const config& cfg, std::string image_id) {
  return {cfg.pool,  cfg.health,  cfg.restart, cfg.scaling,
          cfg.rollout, cfg.queue, std::move(image_id)};
}

/// SIGHUP: re-reads the config file and applies what can be applied live.
/// An invalid file changes nothing; keys that need a restart keep their
/// running values. One log line says what happened.
void reload(const std::string& path, config& running, std::string& image_id,
            container_runtime* runtime, proxy_server& proxy, const supervisor_actor& sup) {
  if (path.empty()) {
    log::warn("corral", "SIGHUP: nothing to reload (corral runs on its built-in defaults)");
    return;
  }
  auto loaded = load_config(path);
  if (auto* err = std::get_if<config_error>(&loaded)) {
    log::error("corral", "reload refused: the config is invalid; nothing changed",
               {{"error", err->render()}});
    return;
  }
  auto next = std::get<config>(std::move(loaded));
  // 0 means "derived at start": the running value, then.
  if (next.proxy.max_connections == 0)
    next.proxy.max_connections = running.proxy.max_connections;
  if (auto keys = restart_only_changes(running, next); !keys.empty()) {
    std::string list;
    for (auto& k : keys)
      list += (list.empty() ? "" : ", ") + k;
    log::warn("corral", "reload: these keys need a restart and keep their running values",
              {{"keys", list}});
    next.proxy.listen = running.proxy.listen;
    next.proxy.threads = running.proxy.threads;
    next.proxy.max_connections = running.proxy.max_connections;
    next.admin.listen = running.admin.listen;
    next.pool.name = running.pool.name;
    next.pool.start_port = running.pool.start_port;
    next.pool.run_dir = running.pool.run_dir;
    next.docker.socket = running.docker.socket;
    if (next.pool.runtime != running.pool.runtime) {
      next.pool.runtime = running.pool.runtime;
      next.pool.backends = running.pool.backends;
    }
  }
  // The tag is resolved again: a rebuilt image under the same tag is a new
  // spec, and the pool rolls to it. (A static pool has no image.)
  if (runtime) {
    auto resolved = runtime->image_id(next.pool.image);
    if (!resolved) {
      log::error("corral", "reload: the image cannot be used; the pool keeps its image",
                 {{"image", next.pool.image}, {"error", resolved.error().message}});
      next.pool.image = running.pool.image;
    } else {
      image_id = *resolved;
    }
  }
  log::set_level(next.log_level);
  log::set_format(next.log_format);
  proxy.reconfigure(next.proxy);
  caf::anon_send(sup, atom::reload_v, make_update(next, image_id));
  running = std::move(next);
  log::info("corral", "reloaded", {{"file", path}, {"image", image_id}});
}

/// Polls the pool until `ready` slots serve; false after `deadline`.
bool wait_ready(caf::actor_system& sys, const supervisor_actor& sup, size_t ready,
                std::chrono::milliseconds deadline) {
  auto end = std::chrono::steady_clock::now() + deadline;
  caf::scoped_actor self{sys};
  while (std::chrono::steady_clock::now() < end) {
    size_t serving = 0;
    self->request(sup, std::chrono::seconds(2), caf::get_atom_v, atom::status_v)
      .receive(
        [&](const pool_status& pool) {
          serving = static_cast<size_t>(std::count_if(
            pool.slots.begin(), pool.slots.end(),
            [](const slot_status& s) { return s.state == "ready"; }));
        },
        [](const caf::error&) {});
    if (serving >= ready)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

/// Watches the takeover socket on a thread of its own; a successor's
/// request is parked in `pending` and announced to main with SIGUSR1.
class takeover_watch {
public:
  explicit takeover_watch(takeover_listener listener) : listener_(std::move(listener)) {
    thread_ = std::thread{[this] { loop(); }};
  }

  ~takeover_watch() {
    stop_ = true;
    thread_.join();
  }

  /// The successor's connection, once; -1 when there is none.
  int take_request() {
    return pending_.exchange(-1);
  }

  /// Stops answering successors (a takeover is under way).
  void close() {
    paused_ = true;
  }

  /// Answers successors again (the takeover failed).
  void reopen() {
    paused_ = false;
  }

private:
  void loop() {
    while (!stop_) {
      pollfd p{listener_.fd(), POLLIN, 0};
      if (paused_ || ::poll(&p, 1, 100) <= 0) {
        if (paused_)
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      int conn = listener_.accept_request(std::chrono::seconds(2));
      if (conn < 0)
        continue;
      if (int old = pending_.exchange(conn); old >= 0)
        ::close(old);
      ::kill(::getpid(), SIGUSR1);
    }
    if (int old = pending_.exchange(-1); old >= 0)
      ::close(old);
  }

  takeover_listener listener_;
  std::atomic<int> pending_{-1};
  std::atomic<bool> stop_{false};
  std::atomic<bool> paused_{false};
  std::thread thread_;
};

/// How corral comes up: on its own, or taking a predecessor's place.
struct start_mode {
  /// The predecessor's connection and sockets, for a takeover.
  std::optional<takeover_client> predecessor;
};

/// Runs the pool until a signal or a handover, then shuts down in order.
/// Preflight passed; the pool lock is held.
int run(config cfg, const std::string& config_path, sigset_t signals,
        std::shared_ptr<docker_runtime> runtime, std::string image_id, pool_lock& lock,
        start_mode mode) {
  auto started_ms = unix_ms();
  // The admin listener shows (and with a token, guards) the pool's state:
  // anything but loopback deserves a word.
  if (cfg.admin.listen.host.rfind("127.", 0) != 0 && cfg.admin.listen.host != "localhost")
    log::warn("corral", "the admin listener is not on loopback",
              {{"admin", address(cfg.admin.listen)},
               {"token", cfg.admin.token.empty() ? "none ([admin] token_file)" : "required"}});
  auto open_files = raise_open_file_limit();
  if (cfg.proxy.max_connections == 0)
    cfg.proxy.max_connections = proxy::default_max_connections(open_files);
  // A static pool (no runtime) has nothing an earlier run could have left.
  auto adopted = runtime ? take_stock(*runtime, cfg, image_id)
                         : result<std::vector<adopted_container>>{std::vector<adopted_container>{}};
  if (!adopted)
    return fail(exit_unusable, adopted.error().message);

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
  sup_cfg.rollout = cfg.rollout;
  sup_cfg.queue = cfg.queue;
  sup_cfg.image_id = image_id;
  sup_cfg.adopt = *adopted;
  sup_cfg.owner = owner_label();
  auto probes = std::make_shared<http_prober>(cfg.health.path);
  supervisor_actor sup;
  if (runtime) {
    sup = sys.spawn(supervisor, sup_cfg, runtime, probes);
  } else {
    static_pool_config static_cfg;
    static_cfg.pool = cfg.pool;
    static_cfg.health = cfg.health;
    static_cfg.queue = cfg.queue;
    static_cfg.census = census;
    sup = sys.spawn(static_pool, static_cfg, probes);
  }

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

  // Deaths reach the supervisor at once, one per container, oom or not;
  // after every (re)connection of the stream, the full list corrects
  // whatever was missed meanwhile. A static pool has no containers.
  std::optional<death_classifier> deaths;
  std::optional<event_feed> feed;
  if (runtime) {
    deaths.emplace(*runtime);
    feed.emplace(
      *runtime,
      std::map<std::string, std::string>{{labels::pool, cfg.pool.name}},
      [sup, &deaths](const runtime_event& ev) {
        if (auto death = deaths->classify(ev))
          caf::anon_send(sup, atom::died_v, death->port, death->id, int32_t{death->exit_code},
                         death->oom);
      },
      [sup](std::vector<container_info> containers) {
        std::vector<observed_container> seen;
        for (auto& c : containers)
          seen.push_back({c.port, c.id, c.status == container_status::running});
        caf::anon_send(sup, atom::resync_v, std::move(seen));
      });
    feed->start();
  }

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
  handed_sockets inherited;
  if (mode.predecessor)
    inherited = mode.predecessor->sockets();
  try {
    proxy.start(inherited.proxy_fds);
    admin.start(inherited.admin_fd);
  } catch (const std::exception& err) {
    startup_error = err.what();
  }

  std::optional<takeover_watch> watch;
  bool handed_over = false;
  if (!startup_error) {
    if (mode.predecessor) {
      // The predecessor still serves from the same sockets; it stops once
      // the adopted containers serve here too.
      auto wanted = std::min<size_t>(adopted->size(), cfg.pool.min_containers);
      if (!wait_ready(sys, sup, wanted, std::chrono::seconds(30)))
        log::warn("corral", "the adopted containers are not all ready yet; taking over anyway");
      mode.predecessor->ready();
      mode.predecessor.reset();
      log::info("corral", "took the pool over from its predecessor",
                {{"adopted", adopted->size()}});
    }
    auto listener = takeover_listener::open(takeover_path(cfg));
    if (auto* problem = std::get_if<std::string>(&listener))
      log::warn("corral", "upgrades without an outage are off", {{"error", *problem}});
    else
      watch.emplace(std::get<takeover_listener>(std::move(listener)));
    if (!runtime) {
      std::string backends;
      for (auto port : cfg.pool.backends)
        backends += (backends.empty() ? "" : ",") + static_backend_id(port);
      log::info("corral", "running a static pool (nothing is started or stopped)",
                {{"proxy", cfg.proxy.listen.host + ":" + std::to_string(proxy.port())},
                 {"admin", cfg.admin.listen.host + ":" + std::to_string(admin.port())},
                 {"pool", cfg.pool.name},
                 {"backends", backends},
                 {"open_files", open_files},
                 {"max_connections", cfg.proxy.max_connections}});
    } else {
      log::info("corral", "running",
                {{"proxy", cfg.proxy.listen.host + ":" + std::to_string(proxy.port())},
                 {"admin", cfg.admin.listen.host + ":" + std::to_string(admin.port())},
                 {"pool", cfg.pool.name},
                 {"image", cfg.pool.image},
                 {"start_port", cfg.pool.start_port},
                 {"min_containers", cfg.pool.min_containers},
                 {"max_containers", cfg.pool.max_containers},
                 {"adopted", adopted->size()},
                 {"open_files", open_files},
                 {"max_connections", cfg.proxy.max_connections}});
    }
    for (;;) {
      int sig = 0;
      sigwait(&signals, &sig);
      if (sig == SIGHUP) {
        reload(config_path, cfg, image_id, runtime.get(), proxy, sup);
        continue;
      }
      if (sig == SIGUSR1) {
        int conn = watch ? watch->take_request() : -1;
        if (conn < 0)
          continue;
        // A successor asks for the pool: hand it the sockets, stop managing
        // the pool, let go of the lock, and wait until it serves.
        log::info("corral", "a successor takes the pool over");
        watch->close();
        if (!hand_over_sockets(conn, {proxy.listen_fds(), admin.listen_fd()})) {
          ::close(conn);
          watch->reopen();
          continue;
        }
        caf::anon_send(sup, atom::freeze_v, true);
        if (feed)
          feed->stop();
        lock.release();
        send_line(conn, "released");
        auto answer = read_line(conn, std::chrono::seconds(60));
        ::close(conn);
        if (answer && *answer == "ready") {
          handed_over = true;
          log::info("corral", "the successor serves: finishing requests in flight, then exiting "
                              "and leaving the pool to it");
          break;
        }
        // The successor went away before it served: carry on.
        log::warn("corral", "the successor went away before it served; carrying on");
        auto again = pool_lock::acquire(cfg.pool.run_dir, cfg.pool.name,
                                        "pid " + std::to_string(::getpid()) + ", admin "
                                          + address(cfg.admin.listen));
        if (auto* held = std::get_if<pool_lock>(&again)) {
          lock = std::move(*held);
          caf::anon_send(sup, atom::freeze_v, false);
          if (feed)
            feed->start();
          watch->reopen();
          continue;
        }
        log::error("corral", "another corral holds the pool now; exiting and leaving the pool",
                   {{"error", std::get<std::string>(again)}});
        handed_over = true;
        break;
      }
      log::info("corral", cfg.pool.on_exit == exit_policy::keep
                            ? "finishing requests in flight, then leaving the pool running"
                            : "finishing requests in flight, then removing the pool",
                {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
      break;
    }
    exit_on_second_signal(signals);
  }

  // 1. io first: no new requests, in-flight ones finish (bounded). After a
  // handover the sockets stay open in the successor, which accepts on.
  watch.reset();
  proxy.shutdown(handed_over ? proxy_server::listen_sockets::handed_over
                             : proxy_server::listen_sockets::close);
  admin.shutdown();
  if (feed)
    feed->stop();
  // 2. the pool: every container stopped and removed, or left running.
  {
    caf::scoped_actor self{sys};
    auto grace = std::chrono::duration_cast<std::chrono::seconds>(cfg.pool.stop_timeout)
                 + std::chrono::seconds{30};
    bool leave = handed_over || cfg.pool.on_exit == exit_policy::keep;
    self->request(sup, grace, atom::shutdown_v, leave)
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
  log::info("corral", handed_over ? "stopped; the successor runs the pool" : "stopped");
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
  auto signals = block_signals();

  // A takeover first: the running corral hands its sockets over and lets go
  // of the pool lock.
  start_mode mode;
  if (opts.takeover) {
    auto asked = takeover_client::request(takeover_path(cfg), std::chrono::seconds(30));
    if (auto* problem = std::get_if<std::string>(&asked))
      return fail(exit_unusable, *problem);
    mode.predecessor.emplace(std::get<takeover_client>(std::move(asked)));
  }
  // One corral per pool: nothing is touched before the lock is ours.
  auto holder = "pid " + std::to_string(::getpid()) + ", admin " + address(cfg.admin.listen);
  auto locked = pool_lock::acquire(cfg.pool.run_dir, cfg.pool.name, holder);
  if (auto* problem = std::get_if<std::string>(&locked))
    return fail(exit_unusable, *problem);
  auto& lock = std::get<pool_lock>(locked);

  // Preflight: each problem is one line and nothing was created yet. A
  // static pool needs no Docker at all.
  std::shared_ptr<docker_runtime> runtime;
  std::string image_id;
  if (cfg.pool.runtime == pool_runtime::docker) {
    runtime = std::make_shared<docker_runtime>(cfg.docker.socket);
    auto image = check_docker(*runtime, cfg.pool);
    if (!image)
      return fail(exit_unusable, image.error().message);
    image_id = *image;
  }
  if (!mode.predecessor) {
    if (auto problem = check_listen(cfg.proxy.listen, "proxy"))
      return fail(exit_unusable, *problem);
    if (auto problem = check_listen(cfg.admin.listen, "admin"))
      return fail(exit_unusable, *problem);
  }
  return run(std::move(cfg), opts.config_path, signals, std::move(runtime), image_id, lock,
             std::move(mode));
}

} // namespace
} // namespace corral

int main(int argc, char** argv) {
  return corral::corral_main(argc, argv);
}
