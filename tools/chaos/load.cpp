// The steady GET load through corral's proxy (see load.hpp).
#include "tools/chaos/load.hpp"

#include <algorithm>

namespace corral::chaos {

namespace {

/// Sleeps until `until` in short steps; false when `stop` was set meanwhile,
/// so that a slow paced load does not hold up the end of the run.
bool sleep_until(std::chrono::steady_clock::time_point until, const std::atomic<bool>& stop) {
  constexpr auto step = std::chrono::milliseconds{20};
  for (;;) {
    if (stop.load(std::memory_order_relaxed))
      return false;
    auto now = std::chrono::steady_clock::now();
    if (now >= until)
      return true;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(until - now, step));
  }
}

} // namespace

uint64_t load_counts::failed() const {
  uint64_t n = 0;
  for (auto& [kind, count] : failures)
    n += count;
  return n;
}

void load_counts::merge(const load_counts& other) {
  sent += other.sent;
  ok += other.ok;
  for (auto& [kind, count] : other.failures)
    failures[kind] += count;
  events.insert(events.end(), other.events.begin(), other.events.end());
}

std::optional<std::string> failure_kind(const http::response& answer) {
  if (answer.status == 0)
    return "no response: " + answer.error;
  if (answer.success())
    return std::nullopt;
  return "status " + std::to_string(answer.status);
}

load_generator::load_generator(std::string url, unsigned threads, double rate,
                               std::chrono::milliseconds timeout)
  : url_(std::move(url)), threads_(threads), rate_(rate), timeout_(timeout),
    counts_(threads) {
}

load_generator::~load_generator() {
  stop();
}

void load_generator::start() {
  for (unsigned i = 0; i < threads_; ++i)
    workers_.emplace_back([this, i] { run(i); });
}

load_counts load_generator::stop() {
  stopping_ = true;
  for (auto& w : workers_)
    if (w.joinable())
      w.join();
  load_counts total;
  for (auto& c : counts_)
    total.merge(c);
  return total;
}

void load_generator::run(unsigned index) {
  using std::chrono::steady_clock;
  auto& counts = counts_[index];
  http::client client;
  // Paced threads start staggered by a share of the period, so that together
  // they send one request every 1/rate s rather than in bursts of `threads`.
  std::chrono::nanoseconds period{0};
  auto next = steady_clock::now();
  if (rate_ > 0) {
    period = std::chrono::nanoseconds{static_cast<int64_t>(1e9 * threads_ / rate_)};
    next += period * index / threads_;
  }
  while (!stopping_.load(std::memory_order_relaxed)) {
    if (period.count() > 0) {
      if (!sleep_until(next, stopping_))
        break;
      // A late request does not bring a burst after it: the load stays steady.
      next = std::max(next + period, steady_clock::now());
    }
    auto sent = steady_clock::now();
    auto answer = client.get(url_, timeout_);
    ++counts.sent;
    if (auto kind = failure_kind(answer)) {
      ++counts.failures[*kind];
      failed_.fetch_add(1, std::memory_order_relaxed);
      if (counts.events.size() < load_counts::kept_events)
        counts.events.push_back({sent, steady_clock::now(), *kind,
                                 answer.status == 0 ? answer.detail
                                                    : answer.body.substr(0, 200)});
    } else {
      ++counts.ok;
    }
    finished_.fetch_add(1, std::memory_order_relaxed);
  }
}

} // namespace corral::chaos
