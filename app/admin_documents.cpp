// Renders /status (JSON) and /metrics (Prometheus text).
#include "app/admin_documents.hpp"

#include <boost/json.hpp>

#include <map>
#include <sstream>

namespace corral {

namespace {

namespace json = boost::json;

const char* const class_names[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};

json::object slot_json(const std::string& pool, const slot_status& s) {
  return {
    {"port", s.port},
    {"name", pool + "-" + std::to_string(s.port)},
    {"state", s.state},
    {"container", s.container_id},
    {"restarts", s.restarts},
    {"failure_streak", s.failure_streak},
    {"since_ms", s.since_ms},
    {"last_error", s.last_error},
  };
}

} // namespace

std::string render_status_json(const admin_snapshot& snap) {
  json::array slots;
  uint32_t ready = 0;
  for (auto& s : snap.pool.slots) {
    slots.push_back(slot_json(snap.pool.name, s));
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
  json::object doc{
    {"pool",
     {{"name", snap.pool.name},
      {"image", snap.image},
      {"desired", snap.pool.desired},
      {"ready", ready},
      {"slots", std::move(slots)}}},
    {"balancer",
     {{"rotation", std::move(rotation)},
      {"backends", std::move(backends)},
      {"handed_out", snap.balancer.handed_out},
      {"no_backend", snap.balancer.no_backend},
      {"failed", snap.balancer.failed},
      {"window_requests", snap.balancer.window_requests}}},
    {"proxy",
     {{"connections_open", snap.proxy.connections_open},
      {"requests", snap.proxy.requests},
      {"responses", std::move(responses)},
      {"bad_gateway", snap.proxy.bad_gateway},
      {"no_backend", snap.proxy.no_backend},
      {"gateway_timeout", snap.proxy.gateway_timeout},
      {"retries", snap.proxy.retries}}},
  };
  return json::serialize(doc) + "\n";
}

std::string render_metrics(const admin_snapshot& snap) {
  std::ostringstream out;
  auto family = [&](const char* name, const char* type, const char* help) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  };
  auto pool_label = "pool=\"" + snap.pool.name + "\"";

  family("corral_pool_desired_containers", "gauge", "Containers the pool heads for.");
  out << "corral_pool_desired_containers{" << pool_label << "} " << snap.pool.desired << '\n';
  family("corral_pool_containers", "gauge", "Slots of the pool by state.");
  std::map<std::string, int> by_state{{"creating", 0}, {"starting", 0}, {"ready", 0},
                                      {"checking", 0}, {"draining", 0}, {"stopping", 0},
                                      {"waiting", 0}};
  for (auto& s : snap.pool.slots)
    ++by_state[s.state];
  for (auto& [state, n] : by_state)
    out << "corral_pool_containers{" << pool_label << ",state=\"" << state << "\"} " << n
        << '\n';
  family("corral_container_restarts_total", "counter", "Replacements per slot.");
  for (auto& s : snap.pool.slots)
    out << "corral_container_restarts_total{" << pool_label << ",port=\"" << s.port << "\"} "
        << s.restarts << '\n';

  family("corral_backend_in_flight", "gauge", "Requests in flight per backend port.");
  for (auto& b : snap.balancer.backends)
    out << "corral_backend_in_flight{port=\"" << b.port << "\"} " << b.in_flight << '\n';
  family("corral_balancer_handed_out_total", "counter", "Ports handed to the proxy.");
  out << "corral_balancer_handed_out_total " << snap.balancer.handed_out << '\n';
  family("corral_balancer_unreachable_total", "counter",
         "Attempts the proxy reported as unreachable.");
  out << "corral_balancer_unreachable_total " << snap.balancer.failed << '\n';
  family("corral_scaling_window_requests", "gauge", "Requests in the current scaling window.");
  out << "corral_scaling_window_requests " << snap.balancer.window_requests << '\n';

  const auto& p = snap.proxy;
  family("corral_proxy_connections_open", "gauge", "Client connections open.");
  out << "corral_proxy_connections_open " << p.connections_open << '\n';
  family("corral_proxy_requests_total", "counter", "Requests read from clients.");
  out << "corral_proxy_requests_total " << p.requests << '\n';
  family("corral_proxy_responses_total", "counter", "Responses by status class.");
  for (size_t i = 0; i < 5; ++i)
    out << "corral_proxy_responses_total{class=\"" << class_names[i] << "\"} "
        << p.responses_by_class[i] << '\n';
  family("corral_proxy_errors_total", "counter", "Responses the proxy made up, by kind.");
  out << "corral_proxy_errors_total{kind=\"bad_gateway\"} " << p.bad_gateway << '\n';
  out << "corral_proxy_errors_total{kind=\"no_backend\"} " << p.no_backend << '\n';
  out << "corral_proxy_errors_total{kind=\"gateway_timeout\"} " << p.gateway_timeout << '\n';
  family("corral_proxy_retries_total", "counter", "Attempts moved to another backend.");
  out << "corral_proxy_retries_total " << p.retries << '\n';
  family("corral_proxy_request_duration_seconds", "histogram",
         "Time from a complete request to its complete response.");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < latency_bounds_us.size(); ++i) {
    cumulative += p.latency_buckets[i];
    out << "corral_proxy_request_duration_seconds_bucket{le=\""
        << static_cast<double>(latency_bounds_us[i]) / 1e6 << "\"} " << cumulative << '\n';
  }
  cumulative += p.latency_buckets.back();
  out << "corral_proxy_request_duration_seconds_bucket{le=\"+Inf\"} " << cumulative << '\n';
  out << "corral_proxy_request_duration_seconds_sum "
      << static_cast<double>(p.latency_sum_us) / 1e6 << '\n';
  out << "corral_proxy_request_duration_seconds_count " << p.latency_count << '\n';
  return out.str();
}

} // namespace corral
