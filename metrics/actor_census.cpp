// Reading the actors' meters and keeping what retired actors measured.
#include "metrics/actor_census.hpp"

#include <algorithm>
#include <chrono>

namespace corral::metrics {

// -- actor_meter --------------------------------------------------------------------------

std::map<std::string, uint64_t> actor_meter::messages() const {
  std::map<std::string, uint64_t> out;
  auto used = used_.load(std::memory_order_acquire);
  for (size_t i = 0; i < used; ++i)
    if (auto n = counts_[i].get(); n > 0)
      out[names_[i].data()] += n;
  if (auto n = counts_[max_kinds].get(); n > 0)
    out["other"] += n;
  return out;
}

uint64_t actor_meter::messages_total() const {
  uint64_t total = 0;
  for (auto& c : counts_)
    total += c.get();
  return total;
}

double actor_meter::busy_seconds(uint64_t now_ns) const {
  auto since = busy_since_ns_.get();
  if (since == 0 || now_ns <= since)
    return 0;
  return static_cast<double>(now_ns - since) * 1e-9;
}

// -- actor_series ---------------------------------------------------------------------------

uint64_t actor_series::messages_total() const {
  uint64_t total = 0;
  for (auto& [kind, n] : messages)
    total += n;
  return total;
}

// -- actor_census ---------------------------------------------------------------------------

uint64_t actor_census::now_ns() noexcept {
  using namespace std::chrono;
  return static_cast<uint64_t>(
    duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count());
}

std::shared_ptr<actor_meter> actor_census::enlist(std::string role, uint16_t port) {
  auto meter = std::make_shared<actor_meter>(std::move(role), port);
  std::lock_guard guard{mutex_};
  alive_.push_back(meter);
  ++spawned_[{meter->role(), port}];
  return meter;
}

void actor_census::discharge(const std::shared_ptr<actor_meter>& meter,
                             std::string_view reason) {
  std::lock_guard guard{mutex_};
  auto i = std::find(alive_.begin(), alive_.end(), meter);
  if (i == alive_.end())
    return; // discharged twice: the first one counted
  auto& kept = retired_[{meter->role(), meter->port()}];
  for (auto& [kind, n] : meter->messages())
    kept.messages[kind] += n;
  kept.handling += meter->handling_seconds();
  kept.mailbox_max = std::max(kept.mailbox_max, meter->mailbox_max());
  ++kept.exited[std::string{reason}];
  alive_.erase(i);
}

std::vector<actor_series> actor_census::snapshot(uint64_t now_ns) const {
  std::lock_guard guard{mutex_};
  std::map<series_key, actor_series> merged;
  for (auto& [key, spawned] : spawned_) {
    auto& s = merged[key];
    s.role = key.first;
    s.port = key.second;
    s.spawned = spawned;
  }
  for (auto& [key, kept] : retired_) {
    auto& s = merged[key];
    s.exited = kept.exited;
    s.messages = kept.messages;
    s.handling = kept.handling;
    s.mailbox_max = kept.mailbox_max;
  }
  for (auto& meter : alive_) {
    auto& s = merged[{meter->role(), meter->port()}];
    ++s.alive;
    for (auto& [kind, n] : meter->messages())
      s.messages[kind] += n;
    s.handling += meter->handling_seconds();
    s.mailbox += meter->mailbox();
    s.mailbox_max = std::max(s.mailbox_max, meter->mailbox_max());
    s.busy_seconds = std::max(s.busy_seconds, meter->busy_seconds(now_ns));
  }
  std::vector<actor_series> out;
  out.reserve(merged.size());
  for (auto& [key, s] : merged) {
    // A series never seen handling a message still shows its histogram's
    // buckets, so that every role has the same families.
    if (s.handling.buckets.empty())
      s.handling = duration_histogram{}.seconds();
    out.push_back(std::move(s));
  }
  return out;
}

} // namespace corral::metrics
