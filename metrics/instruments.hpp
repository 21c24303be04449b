// Single-writer instruments: a counter, a gauge and a fixed-bucket histogram
// that one thread (an actor, an io thread) writes and any thread may read.
// Plain C++: the proxy, the actors and the admin side all use these.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace corral::metrics {

/// A counter with a single writer: a relaxed load and store, no locked
/// instruction on the writer's path; any thread may read it.
class counter {
public:
  /// Adds `n`; only the owner calls this.
  void add(uint64_t n = 1) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  /// The current value; any thread.
  uint64_t get() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

private:
  std::atomic<uint64_t> value_{0};
};

/// A value with a single writer that goes up and down.
class gauge {
public:
  void set(uint64_t value) noexcept {
    value_.store(value, std::memory_order_relaxed);
  }
  uint64_t get() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

private:
  std::atomic<uint64_t> value_{0};
};

/// A histogram as read at one moment: per-bucket counts (not cumulative; the
/// last bucket is +Inf), their sum and count, in the histogram's unit scaled
/// to the exposition's (seconds, say).
struct histogram_snapshot {
  /// Inclusive upper bounds, in the exposition's unit.
  std::vector<double> bounds;
  /// bounds.size() + 1 counts; the last one counts what exceeded every bound.
  std::vector<uint64_t> buckets;
  double sum = 0;
  uint64_t count = 0;

  /// Adds another snapshot of a histogram with the same bounds (another io
  /// thread, another incarnation of an actor). An empty snapshot takes the
  /// other's bounds.
  histogram_snapshot& operator+=(const histogram_snapshot& other);

  /// Estimates the q-quantile (0 < q < 1) by linear interpolation inside
  /// the bucket it falls in, as Prometheus' histogram_quantile() does; 0
  /// when empty, the highest finite bound when it falls into +Inf.
  double quantile(double q) const;
};

/// Fixed buckets over integer observations (nanoseconds, items). One writer.
template <size_t N>
class histogram {
public:
  /// `bounds` are inclusive upper bounds in the observation's unit, ascending.
  explicit constexpr histogram(const std::array<uint64_t, N>& bounds) : bounds_(bounds) {
  }

  /// Records one observation; only the owner calls this. A linear scan:
  /// with a dozen buckets it beats a binary search's branches.
  void observe(uint64_t value) noexcept {
    size_t i = 0;
    while (i < N && value > bounds_[i])
      ++i;
    buckets_[i].add();
    sum_.add(value);
    count_.add();
  }

  /// Reads every bucket; `scale` turns the observation unit into the
  /// exposition's (1e-9 for nanoseconds to seconds).
  histogram_snapshot snapshot(double scale) const {
    histogram_snapshot out;
    out.bounds.reserve(N);
    for (auto b : bounds_)
      out.bounds.push_back(static_cast<double>(b) * scale);
    out.buckets.reserve(N + 1);
    for (auto& b : buckets_)
      out.buckets.push_back(b.get());
    out.sum = static_cast<double>(sum_.get()) * scale;
    // The count is read last and clamped to the buckets' sum, so a reader
    // racing the writer never sees more observations than bucket counts.
    uint64_t in_buckets = 0;
    for (auto b : out.buckets)
      in_buckets += b;
    out.count = std::min(count_.get(), in_buckets);
    return out;
  }

private:
  std::array<uint64_t, N> bounds_;
  std::array<counter, N + 1> buckets_;
  counter sum_;
  counter count_;
};

/// Durations in nanoseconds from 1 µs to 10 s: what an actor's message, a
/// probe or a balancer round trip takes.
inline constexpr std::array<uint64_t, 13> duration_bounds_ns{
  1'000,       5'000,       10'000,        25'000,        100'000,
  250'000,     1'000'000,   5'000'000,     25'000'000,    100'000'000,
  500'000'000, 1'000'000'000, 10'000'000'000};

/// A histogram of durations in nanoseconds over duration_bounds_ns.
class duration_histogram : public histogram<duration_bounds_ns.size()> {
public:
  constexpr duration_histogram() : histogram(duration_bounds_ns) {
  }
  /// In seconds, for the exposition.
  histogram_snapshot seconds() const {
    return snapshot(1e-9);
  }
};

} // namespace corral::metrics
