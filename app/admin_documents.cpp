// Renders /status and /events (JSON) and /metrics (Prometheus text).
#include "app/admin_documents.hpp"

#include "metrics/exposition.hpp"

#include <boost/json.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

namespace corral {

namespace {

namespace json = boost::json;

const char* const class_names[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};

/// Every slot state, so each shows in /metrics even at zero.
const char* const slot_states[] = {"creating", "adopting", "starting", "ready", "checking",
                                   "draining", "stopping", "backoff",  "failed"};

/// Every lifecycle event and death class, likewise.
const char* const container_events[] = {"created", "started", "ready",    "killed",
                                        "died",    "oom",     "unhealthy", "replaced",
                                        "removed", "start_failed", "adopted"};
const char* const exit_classes[] = {"clean", "error", "signal", "oom"};

/// Exit reasons every role shows, even at zero.
const char* const exit_reasons[] = {"normal", "user_shutdown", "kill", "unreachable",
                                    "unhandled_exception", "other"};

template <class Map>
uint64_t lookup(const Map& map, const typename Map::key_type& key) {
  auto i = map.find(key);
  return i == map.end() ? 0 : i->second;
}

json::object histogram_json(const metrics::histogram_snapshot& h) {
  return {{"count", h.count},
          {"sum_seconds", h.sum},
          {"p50_seconds", h.quantile(0.5)},
          {"p99_seconds", h.quantile(0.99)}};
}

json::object series_json(const metrics::actor_series& s) {
  json::object messages;
  for (auto& [kind, n] : s.messages)
    messages[kind] = n;
  json::object exited;
  for (auto& [reason, n] : s.exited)
    exited[reason] = n;
  json::object out{{"role", s.role}};
  if (s.port != 0)
    out["port"] = s.port;
  out["alive"] = s.alive;
  out["spawned"] = s.spawned;
  out["exited"] = std::move(exited);
  out["messages"] = std::move(messages);
  out["messages_total"] = s.messages_total();
  out["mailbox"] = s.mailbox;
  out["mailbox_max"] = s.mailbox_max;
  out["busy_seconds"] = s.busy_seconds;
  out["handling"] = histogram_json(s.handling);
  return out;
}

json::object event_json(const lifecycle_event& e) {
  return {{"at_ms", e.at_ms},
          {"event", e.event},
          {"port", e.port},
          {"container", e.container},
          {"detail", e.detail}};
}

json::object slot_json(const admin_snapshot& snap, const slot_status& s) {
  json::object out{
    {"port", s.port},
    {"name", snap.pool.name + "-" + std::to_string(s.port)},
    {"state", s.state},
    {"container", s.container_id},
    {"restarts", s.restarts},
    {"failure_streak", s.failure_streak},
    {"since_ms", s.since_ms},
    {"last_error", s.last_error},
    {"spec", s.spec},
  };
  uint64_t requests = 0;
  for (auto& r : snap.balancer.requests_by_port)
    if (r.port == s.port)
      requests = r.requests;
  uint32_t in_flight = 0;
  for (auto& b : snap.balancer.backends)
    if (b.port == s.port)
      in_flight = b.in_flight;
  out["requests"] = requests;
  out["in_flight"] = in_flight;
  json::value probe = nullptr;
  for (auto& p : snap.health.ports)
    if (p.port == s.port && !p.last_result.empty())
      probe = json::object{{"result", p.last_result},
                           {"latency_ms", p.last_latency_seconds * 1e3},
                           {"at_ms", p.last_at_ms}};
  out["probe"] = std::move(probe);
  json::value actor = nullptr;
  for (auto& a : snap.actors)
    if (a.role == "container" && a.port == s.port)
      actor = series_json(a);
  out["actor"] = std::move(actor);
  return out;
}

} // namespace

// -- /proc -------------------------------------------------------------------------------

process_info read_process_info(std::string version, int64_t started_ms) {
  using namespace std::chrono;
  process_info info;
  info.version = std::move(version);
  info.pid = ::getpid();
  info.started_ms = started_ms;
  auto now_ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  info.uptime_seconds = static_cast<double>(now_ms - started_ms) / 1e3;
  // /proc/self/stat: the command (field 2) may hold spaces, so count the
  // fields after its closing parenthesis: utime is field 14, stime 15,
  // rss 24 (in pages).
  std::ifstream stat{"/proc/self/stat"};
  std::string line;
  if (std::getline(stat, line)) {
    auto close = line.rfind(')');
    if (close != std::string::npos) {
      std::istringstream fields{line.substr(close + 2)};
      std::vector<std::string> f{std::istream_iterator<std::string>{fields}, {}};
      // f[0] is field 3 (state).
      if (f.size() > 21) {
        auto ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
        info.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;
        info.resident_bytes =
          std::stoull(f[21]) * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
      }
    }
  }
  std::error_code ec;
  for (auto i = std::filesystem::directory_iterator{"/proc/self/fd", ec};
       !ec && i != std::filesystem::directory_iterator{}; i.increment(ec))
    ++info.open_fds;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0)
    info.max_fds = limit.rlim_cur;
  return info;
}

// -- /status and /events ------------------------------------------------------------------

std::string render_status_json(const admin_snapshot& snap) {
  json::array slots;
  uint32_t ready = 0;
  for (auto& s : snap.pool.slots) {
    slots.push_back(slot_json(snap, s));
    ready += s.state == "ready" ? 1 : 0;
  }
  json::array backends;
  json::array rotation;
  for (auto& b : snap.balancer.backends) {
    backends.push_back({{"port", b.port},
                        {"in_flight", b.in_flight},
                        {"served", b.served},
                        {"draining", b.draining}});
    if (!b.draining)
      rotation.push_back(b.port);
  }
  json::object responses;
  for (size_t i = 0; i < 5; ++i)
    responses[class_names[i]] = snap.proxy.responses_by_class[i];
  json::array actors;
  for (auto& a : snap.actors)
    actors.push_back(series_json(a));
  json::array events;
  auto& log = snap.pool.events;
  auto first = log.size() > status_events ? log.size() - status_events : 0;
  for (auto i = first; i < log.size(); ++i)
    events.push_back(event_json(log[i]));
  json::value last_decision = nullptr;
  if (snap.scaler.windows > 0) {
    auto& d = snap.scaler.last;
    last_decision = json::object{{"from", d.from},           {"to", d.to},
                                 {"direction", d.direction}, {"reason", d.reason},
                                 {"requests", d.requests},   {"at_ms", d.at_ms}};
  }
  const auto& p = snap.proxy;
  json::object doc{
    {"corral",
     {{"version", snap.process.version},
      {"pid", snap.process.pid},
      {"started_ms", snap.process.started_ms},
      {"uptime_seconds", snap.process.uptime_seconds}}},
    {"pool",
     {{"name", snap.pool.name},
      {"image", snap.image},
      {"desired", snap.pool.desired},
      {"min", snap.pool.min_containers},
      {"max", snap.pool.max_containers},
      {"ready", ready},
      {"spec", snap.pool.spec},
      {"image_id", snap.pool.image_id},
      {"rollout",
       {{"state", snap.pool.rollout.state},
        {"from", snap.pool.rollout.from},
        {"to", snap.pool.rollout.to},
        {"from_image", snap.pool.rollout.from_image},
        {"to_image", snap.pool.rollout.to_image},
        {"updated", snap.pool.rollout.updated},
        {"total", snap.pool.rollout.total},
        {"started_ms", snap.pool.rollout.started_ms},
        {"finished_ms", snap.pool.rollout.finished_ms},
        {"failure", snap.pool.rollout.failure}}},
      {"slots", std::move(slots)}}},
    {"balancer",
     {{"rotation", std::move(rotation)},
      {"backends", std::move(backends)},
      {"handed_out", snap.balancer.handed_out},
      {"no_backend", snap.balancer.no_backend},
      {"failed", snap.balancer.failed},
      {"window_requests", snap.balancer.window_requests},
      {"queued_now", snap.balancer.queued_now},
      {"queued", snap.balancer.queued},
      {"queue_timeouts", snap.balancer.queue_timeouts},
      {"ejections", snap.balancer.ejections},
      {"ejections_capped", snap.balancer.ejections_capped}}},
    {"scaler",
     {{"interval_ms", snap.scaler.interval_ms},
      {"windows", snap.scaler.windows},
      {"last_window_requests", snap.scaler.last_window_requests},
      {"last_decision", std::move(last_decision)}}},
    {"proxy",
     {{"connections_open", p.connections_open},
      {"connections_accepted", p.connections_accepted},
      {"requests", p.requests},
      {"responses", std::move(responses)},
      {"bad_gateway", p.bad_gateway},
      {"no_backend", p.no_backend},
      {"gateway_timeout", p.gateway_timeout},
      {"retries", p.retries},
      {"local_errors", p.local_errors},
      {"busy", p.busy},
      {"refused", p.refused},
      {"client_timeouts", p.client_timeouts},
      {"client_gone", p.client_gone},
      {"buffered_bytes", p.buffered_bytes},
      {"max_connections", p.max_connections},
      {"backend_connects", p.backend_connects},
      {"backend_reuses", p.backend_reuses},
      {"round_trip", histogram_json(p.round_trip)}}},
    {"actors", std::move(actors)},
    {"events", std::move(events)},
  };
  return json::serialize(doc) + "\n";
}

std::string render_events_json(const pool_status& pool) {
  json::array events;
  for (auto& e : pool.events)
    events.push_back(event_json(e));
  return json::serialize(json::object{{"events", std::move(events)}}) + "\n";
}

// -- /metrics --------------------------------------------------------------------------------

std::string render_metrics(const admin_snapshot& snap) {
  metrics::exposition out;
  const std::string& pool = snap.pool.name;
  auto port_text = [](uint16_t port) { return std::to_string(port); };

  // -- actors
  std::map<std::string, uint64_t> alive;
  std::map<std::string, uint64_t> spawned;
  std::map<std::string, std::map<std::string, uint64_t>> exited;
  for (auto& a : snap.actors) {
    alive[a.role] += a.alive;
    spawned[a.role] += a.spawned;
    for (auto& [reason, n] : a.exited)
      exited[a.role][reason] += n;
  }
  out.family("corral_actors_alive", "gauge", "Actors running now, by role.");
  for (auto& [role, n] : alive)
    out.sample("corral_actors_alive", {{"role", role}}, n);
  out.family("corral_actors_spawned_total", "counter", "Actors started, by role.");
  for (auto& [role, n] : spawned)
    out.sample("corral_actors_spawned_total", {{"role", role}}, n);
  out.family("corral_actors_exited_total", "counter", "Actors ended, by role and exit reason.");
  for (auto& [role, n] : spawned) {
    (void)n;
    for (auto* reason : exit_reasons)
      out.sample("corral_actors_exited_total", {{"role", role}, {"reason", reason}},
                 lookup(exited[role], reason));
    for (auto& [reason, count] : exited[role])
      if (std::find(std::begin(exit_reasons), std::end(exit_reasons), reason)
          == std::end(exit_reasons))
        out.sample("corral_actors_exited_total", {{"role", role}, {"reason", reason}}, count);
  }
  // Container series carry their port; the others carry none.
  auto with_actor_labels = [&](const metrics::actor_series& a, auto&& emit) {
    if (a.port != 0) {
      auto port = port_text(a.port);
      emit({{"role", a.role}, {"port", port}});
    } else {
      emit({{"role", a.role}});
    }
  };
  out.family("corral_actor_messages_total", "counter",
             "Messages an actor handled, by role and message kind.");
  for (auto& a : snap.actors)
    for (auto& [kind, n] : a.messages) {
      auto port = port_text(a.port);
      if (a.port != 0)
        out.sample("corral_actor_messages_total",
                   {{"role", a.role}, {"port", port}, {"kind", kind}}, n);
      else
        out.sample("corral_actor_messages_total", {{"role", a.role}, {"kind", kind}}, n);
    }
  using labels = std::initializer_list<metrics::label>;
  out.family("corral_actor_mailbox_length", "gauge",
             "Messages waiting in an actor's mailbox, as it last saw them.");
  for (auto& a : snap.actors)
    with_actor_labels(a, [&](labels l) {
      out.sample("corral_actor_mailbox_length", l, a.mailbox);
    });
  out.family("corral_actor_mailbox_max_length", "gauge",
             "The most messages ever seen waiting in an actor's mailbox.");
  for (auto& a : snap.actors)
    with_actor_labels(a, [&](labels l) {
      out.sample("corral_actor_mailbox_max_length", l, a.mailbox_max);
    });
  out.family("corral_actor_busy_seconds", "gauge",
             "How long the message an actor handles now has taken; 0 when idle.");
  for (auto& a : snap.actors)
    with_actor_labels(a, [&](labels l) {
      out.sample("corral_actor_busy_seconds", l, a.busy_seconds);
    });
  out.family("corral_actor_handling_seconds", "histogram", "Time an actor spent on one message.");
  for (auto& a : snap.actors)
    with_actor_labels(a, [&](labels l) {
      out.histogram("corral_actor_handling_seconds", l, a.handling);
    });

  // -- the balancer round trip, from the proxy's side
  out.family("corral_balancer_round_trip_seconds", "histogram",
             "From a request needing a port to the port arriving on its io thread.");
  out.histogram("corral_balancer_round_trip_seconds", {}, snap.proxy.round_trip);
  out.family("corral_balancer_asks_per_batch", "histogram",
             "Ports asked for in one message to the balancer.");
  out.histogram("corral_balancer_asks_per_batch", {}, snap.proxy.asks_per_batch);

  // -- pool and containers
  out.family("corral_pool_desired_containers", "gauge", "Containers the pool heads for.");
  out.sample("corral_pool_desired_containers", {{"pool", pool}}, uint64_t{snap.pool.desired});
  out.family("corral_pool_min_containers", "gauge", "[pool] min_containers.");
  out.sample("corral_pool_min_containers", {{"pool", pool}},
             uint64_t{snap.pool.min_containers});
  out.family("corral_pool_max_containers", "gauge", "[pool] max_containers.");
  out.sample("corral_pool_max_containers", {{"pool", pool}},
             uint64_t{snap.pool.max_containers});
  out.family("corral_pool_containers", "gauge", "Slots of the pool by state.");
  std::map<std::string, uint64_t> by_state;
  for (auto& s : snap.pool.slots)
    ++by_state[s.state];
  for (auto* state : slot_states)
    out.sample("corral_pool_containers", {{"pool", pool}, {"state", state}},
               lookup(by_state, state));
  out.family("corral_rollout_active", "gauge", "1 while a rollout is under way.");
  out.sample("corral_rollout_active", {{"pool", pool}},
             uint64_t{snap.pool.rollout.state == "rolling" ? 1u : 0u});
  out.family("corral_rollout_updated_containers", "gauge",
             "Slots ready on the new spec during the latest rollout.");
  out.sample("corral_rollout_updated_containers", {{"pool", pool}},
             uint64_t{snap.pool.rollout.updated});
  out.family("corral_container_restarts_total", "counter", "Replacements per slot.");
  for (auto& s : snap.pool.slots)
    out.sample("corral_container_restarts_total", {{"pool", pool}, {"port", port_text(s.port)}},
               uint64_t{s.restarts});
  out.family("corral_container_events_total", "counter", "Container lifecycle events.");
  for (auto* event : container_events)
    out.sample("corral_container_events_total", {{"event", event}},
               lookup(snap.pool.event_counts, event));
  out.family("corral_container_deaths_total", "counter",
             "Deaths the engine reported, by exit class.");
  for (auto* exit : exit_classes)
    out.sample("corral_container_deaths_total", {{"exit_class", exit}},
               lookup(snap.pool.deaths, exit));

  // -- balancer
  out.family("corral_backend_requests_total", "counter",
             "Requests handed to each backend port (retries included).");
  for (auto& r : snap.balancer.requests_by_port)
    out.sample("corral_backend_requests_total", {{"port", port_text(r.port)}}, r.requests);
  out.family("corral_backend_in_flight", "gauge", "Requests in flight per backend port.");
  for (auto& b : snap.balancer.backends)
    out.sample("corral_backend_in_flight", {{"port", port_text(b.port)}}, uint64_t{b.in_flight});
  out.family("corral_balancer_backends_ready", "gauge", "Ports in the rotation.");
  out.sample("corral_balancer_backends_ready", {}, uint64_t{snap.balancer.ready});
  out.family("corral_balancer_handed_out_total", "counter", "Ports handed to the proxy.");
  out.sample("corral_balancer_handed_out_total", {}, snap.balancer.handed_out);
  out.family("corral_balancer_no_backend_total", "counter",
             "Requests that found no ready backend.");
  out.sample("corral_balancer_no_backend_total", {}, snap.balancer.no_backend);
  out.family("corral_balancer_unreachable_total", "counter",
             "Attempts the proxy reported as unreachable.");
  out.sample("corral_balancer_unreachable_total", {}, snap.balancer.failed);
  out.family("corral_scaling_window_requests", "gauge", "Requests in the current scaling window.");
  out.sample("corral_scaling_window_requests", {}, snap.balancer.window_requests);
  out.family("corral_balancer_queued_requests", "gauge",
             "Requests waiting for a ready backend now.");
  out.sample("corral_balancer_queued_requests", {}, snap.balancer.queued_now);
  out.family("corral_balancer_queued_total", "counter",
             "Requests that waited for a ready backend.");
  out.sample("corral_balancer_queued_total", {}, snap.balancer.queued);
  out.family("corral_balancer_ejections_total", "counter",
             "Backends taken out of the rotation by passive signals.");
  out.sample("corral_balancer_ejections_total", {}, snap.balancer.ejections);
  out.family("corral_balancer_ejections_capped_total", "counter",
             "Passive ejections the cap (half of the ready backends) refused.");
  out.sample("corral_balancer_ejections_capped_total", {}, snap.balancer.ejections_capped);
  out.family("corral_balancer_queue_timeouts_total", "counter",
             "Requests that found no ready backend within queue_timeout, or no room to wait.");
  out.sample("corral_balancer_queue_timeouts_total", {}, snap.balancer.queue_timeouts);

  // -- health checks
  out.family("corral_probes_total", "counter", "Health probes by port and result.");
  for (auto& p : snap.health.ports) {
    auto port = port_text(p.port);
    for (size_t i = 0; i < p.by_outcome.size() && i < std::size(probe_outcomes); ++i)
      if (probe_outcomes[i] != probe_outcome::aborted)
        out.sample("corral_probes_total", {{"port", port}, {"result", to_string(probe_outcomes[i])}},
                   p.by_outcome[i]);
  }
  out.family("corral_probe_duration_seconds", "histogram",
             "Time from a probe's start to its result.");
  out.histogram("corral_probe_duration_seconds", {}, snap.health.probe_seconds);
  out.family("corral_health_transitions_total", "counter",
             "Healthy and unhealthy reports to the supervisor.");
  out.sample("corral_health_transitions_total", {{"to", "healthy"}}, snap.health.became_healthy);
  out.sample("corral_health_transitions_total", {{"to", "unhealthy"}},
             snap.health.became_unhealthy);

  // -- scaling
  out.family("corral_scale_decisions_total", "counter",
             "Scaling windows' decisions, by direction and reason.");
  for (auto& [key, n] : snap.scaler.decisions)
    out.sample("corral_scale_decisions_total", {{"direction", key.first}, {"reason", key.second}},
               n);
  out.family("corral_scaler_windows_total", "counter", "Scaling windows closed.");
  out.sample("corral_scaler_windows_total", {}, snap.scaler.windows);
  out.family("corral_scaler_last_window_requests", "gauge",
             "Requests in the last closed scaling window.");
  out.sample("corral_scaler_last_window_requests", {}, snap.scaler.last_window_requests);

  // -- proxy
  const auto& p = snap.proxy;
  out.family("corral_proxy_connections_accepted_total", "counter", "Client connections accepted.");
  out.sample("corral_proxy_connections_accepted_total", {}, p.connections_accepted);
  out.family("corral_proxy_connections_open", "gauge", "Client connections open.");
  out.sample("corral_proxy_connections_open", {}, p.connections_open);
  out.family("corral_proxy_max_connections", "gauge", "[proxy] max_connections in effect.");
  out.sample("corral_proxy_max_connections", {}, p.max_connections);
  out.family("corral_proxy_buffered_bytes", "gauge", "Request bodies held in memory now.");
  out.sample("corral_proxy_buffered_bytes", {}, p.buffered_bytes);
  out.family("corral_proxy_max_buffered_bytes", "gauge", "[proxy] max_buffered.");
  out.sample("corral_proxy_max_buffered_bytes", {}, p.max_buffered);
  out.family("corral_proxy_requests_total", "counter", "Requests read from clients.");
  out.sample("corral_proxy_requests_total", {}, p.requests);
  out.family("corral_proxy_responses_total", "counter", "Responses by status class.");
  for (size_t i = 0; i < 5; ++i)
    out.sample("corral_proxy_responses_total", {{"class", class_names[i]}},
               p.responses_by_class[i]);
  out.family("corral_proxy_errors_total", "counter", "Responses the proxy made up, by kind.");
  out.sample("corral_proxy_errors_total", {{"kind", "bad_gateway"}}, p.bad_gateway);
  out.sample("corral_proxy_errors_total", {{"kind", "no_backend"}}, p.no_backend);
  out.sample("corral_proxy_errors_total", {{"kind", "gateway_timeout"}}, p.gateway_timeout);
  out.sample("corral_proxy_errors_total", {{"kind", "local"}}, p.local_errors);
  out.sample("corral_proxy_errors_total", {{"kind", "busy"}}, p.busy);
  out.sample("corral_proxy_errors_total", {{"kind", "refused"}}, p.refused);
  out.family("corral_proxy_client_timeouts_total", "counter",
             "Connections closed because a request did not arrive in time.");
  out.sample("corral_proxy_client_timeouts_total", {}, p.client_timeouts);
  out.family("corral_proxy_clients_gone_total", "counter",
             "Requests cancelled because their client went away while the backend worked.");
  out.sample("corral_proxy_clients_gone_total", {}, p.client_gone);
  out.family("corral_proxy_retries_total", "counter", "Attempts moved to another backend.");
  out.sample("corral_proxy_retries_total", {}, p.retries);
  out.family("corral_proxy_backend_attempts_total", "counter",
             "Attempts by backend connection: new (connected for it) or pooled.");
  out.sample("corral_proxy_backend_attempts_total", {{"connection", "new"}}, p.backend_connects);
  out.sample("corral_proxy_backend_attempts_total", {{"connection", "pooled"}}, p.backend_reuses);
  out.family("corral_proxy_request_duration_seconds", "histogram",
             "Time from a complete request to its complete response.");
  out.histogram("corral_proxy_request_duration_seconds", {}, p.latency);

  // -- process
  const auto& proc = snap.process;
  out.family("corral_build_info", "gauge", "corral's version; always 1.");
  out.sample("corral_build_info", {{"version", proc.version}}, uint64_t{1});
  out.family("process_cpu_seconds_total", "counter", "User and system CPU time spent.");
  out.sample("process_cpu_seconds_total", {}, proc.cpu_seconds);
  out.family("process_resident_memory_bytes", "gauge", "Resident memory size.");
  out.sample("process_resident_memory_bytes", {}, proc.resident_bytes);
  out.family("process_open_fds", "gauge", "Open file descriptors.");
  out.sample("process_open_fds", {}, proc.open_fds);
  out.family("process_max_fds", "gauge", "The open file descriptor limit.");
  out.sample("process_max_fds", {}, proc.max_fds);
  out.family("process_start_time_seconds", "gauge", "Start time, seconds since the epoch.");
  out.sample("process_start_time_seconds", {}, static_cast<double>(proc.started_ms) / 1e3);
  return out.text();
}

} // namespace corral
