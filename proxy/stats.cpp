// Counting and summing the front end's counters.
#include "proxy/stats.hpp"

#include <algorithm>

namespace corral {

proxy_stats& proxy_stats::operator+=(const proxy_stats& other) {
  connections_accepted += other.connections_accepted;
  connections_open += other.connections_open;
  requests += other.requests;
  for (size_t i = 0; i < responses_by_class.size(); ++i)
    responses_by_class[i] += other.responses_by_class[i];
  bad_gateway += other.bad_gateway;
  no_backend += other.no_backend;
  gateway_timeout += other.gateway_timeout;
  retries += other.retries;
  local_errors += other.local_errors;
  busy += other.busy;
  refused += other.refused;
  client_timeouts += other.client_timeouts;
  client_gone += other.client_gone;
  backend_connects += other.backend_connects;
  backend_reuses += other.backend_reuses;
  latency += other.latency;
  round_trip += other.round_trip;
  asks_per_batch += other.asks_per_batch;
  return *this;
}

void thread_counters::count_response(unsigned status) noexcept {
  if (status >= 100 && status < 600)
    responses_by_class[status / 100 - 1].add();
}

void thread_counters::record_latency(
  std::chrono::steady_clock::duration elapsed) noexcept {
  using std::chrono::microseconds;
  latency_us_.observe(static_cast<uint64_t>(
    std::max<int64_t>(0, std::chrono::duration_cast<microseconds>(elapsed).count())));
}

proxy_stats thread_counters::snapshot() const {
  proxy_stats out;
  out.connections_accepted = connections_accepted.get();
  // Relaxed loads of two counters may see them out of step: clamp, so a
  // racing close never shows as a huge open count.
  auto closed = connections_closed.get();
  out.connections_open = out.connections_accepted > closed
                           ? out.connections_accepted - closed
                           : 0;
  out.requests = requests.get();
  for (size_t i = 0; i < out.responses_by_class.size(); ++i)
    out.responses_by_class[i] = responses_by_class[i].get();
  out.bad_gateway = bad_gateway.get();
  out.no_backend = no_backend.get();
  out.gateway_timeout = gateway_timeout.get();
  out.retries = retries.get();
  out.local_errors = local_errors.get();
  out.busy = busy.get();
  out.refused = refused.get();
  out.client_timeouts = client_timeouts.get();
  out.client_gone = client_gone.get();
  out.backend_connects = backend_connects.get();
  out.backend_reuses = backend_reuses.get();
  out.latency = latency_us_.snapshot(1e-6);
  out.round_trip = round_trip.seconds();
  out.asks_per_batch = asks_per_batch.snapshot(1.0);
  return out;
}

} // namespace corral
