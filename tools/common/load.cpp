// The steady GET load (see load.hpp).
#include "tools/common/load.hpp"

#include "tools/common/clock.hpp"

#include <algorithm>
#include <sstream>

namespace corral::http {

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

std::string load_counts::summary() const {
  std::ostringstream out;
  out << sent << " sent, " << ok << " ok";
  if (failed() > 0) {
    out << ", " << failed() << " failed:";
    for (auto& [kind, count] : failures)
      out << ' ' << kind << " x" << count;
  }
  return out.str();
}

std::optional<std::string> failure_kind(const response& answer) {
  if (answer.status == 0)
    return "no response: " + answer.error;
  if (answer.success())
    return std::nullopt;
  return "status " + std::to_string(answer.status);
}

load_generator::load_generator(load_options options)
  : options_(std::move(options)), counts_(options_.threads) {
}

load_generator::~load_generator() {
  stop();
}

void load_generator::start() {
  for (unsigned i = 0; i < options_.threads; ++i)
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
  client client;
  // Paced threads start staggered by a share of the period, so that together
  // they send one request every 1/rate s rather than in bursts of `threads`.
  std::chrono::nanoseconds period{0};
  auto next = steady_clock::now();
  if (options_.rate > 0) {
    period = std::chrono::nanoseconds{
      static_cast<int64_t>(1e9 * options_.threads / options_.rate)};
    next += period * index / options_.threads;
  }
  while (!stopping_.load(std::memory_order_relaxed)) {
    if (period.count() > 0) {
      if (!sleep_until(next, stopping_))
        break;
      // A late request does not bring a burst after it: the load stays steady.
      next = std::max(next + period, steady_clock::now());
    }
    auto sent = steady_clock::now();
    auto answer = client.get(options_.url, options_.timeout);
    ++counts.sent;
    if (auto kind = failure_kind(answer)) {
      ++counts.failures[*kind];
      if (counts.events.size() < load_counts::kept_events)
        counts.events.push_back({sent, steady_clock::now(), *kind,
                                 answer.status == 0 ? answer.detail
                                                    : answer.body.substr(0, 200)});
    } else {
      ++counts.ok;
    }
    finished_.fetch_add(1, std::memory_order_relaxed);
    if (period.count() == 0 && options_.pause.count() > 0
        && !sleep_until(steady_clock::now() + options_.pause, stopping_))
      break;
  }
}

} // namespace corral::http
