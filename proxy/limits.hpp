// The proxy's bounds, shared by its io threads: open client connections
// ([proxy] max_connections, like nginx's worker_connections and HAProxy's
// maxconn: at the bound the listener stops accepting, the kernel's backlog
// holds the rest, and it resumes as connections close) and request bodies
// held in memory ([proxy] max_buffered).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <utility>

namespace corral::proxy {

/// Counts open client connections against a bound. Any thread may leave;
/// one thread (the listener's) enters.
class connection_gate {
public:
  explicit connection_gate(uint64_t max) : max_(max) {
  }

  /// Called (on a thread that leave() runs on) when a connection closed
  /// after the listener had stopped at the bound.
  void on_room(std::function<void()> resume) {
    resume_ = std::move(resume);
  }

  /// Takes a place for the next accepted connection; false at the bound,
  /// and then the next leave() calls the resume function once.
  bool try_enter() {
    if (open_.fetch_add(1, std::memory_order_acq_rel) < max_)
      return true;
    open_.fetch_sub(1, std::memory_order_acq_rel);
    stalled_.store(true, std::memory_order_release);
    // A leave() between the two lines above saw no stall: look again.
    if (open_.load(std::memory_order_acquire) < max_
        && stalled_.exchange(false, std::memory_order_acq_rel))
      return try_enter();
    return false;
  }

  /// Takes a place whatever the bound: for a connection the kernel already
  /// accepted that would otherwise be reset (a stopping listener's queue).
  void enter() {
    open_.fetch_add(1, std::memory_order_acq_rel);
  }

  /// Gives a place back (a connection closed, or an accept failed).
  void leave() {
    open_.fetch_sub(1, std::memory_order_acq_rel);
    if (stalled_.load(std::memory_order_acquire)
        && stalled_.exchange(false, std::memory_order_acq_rel) && resume_)
      resume_();
  }

  uint64_t open() const {
    return open_.load(std::memory_order_relaxed);
  }
  uint64_t max() const {
    return max_;
  }

private:
  const uint64_t max_;
  std::atomic<uint64_t> open_{0};
  std::atomic<bool> stalled_{false};
  std::function<void()> resume_;
};

/// Bytes of request bodies held in memory at once, all io threads together.
class body_budget {
public:
  explicit body_budget(uint64_t max) : max_(max) {
  }

  /// Takes `bytes` for a request body; false (nothing taken) when that
  /// would go past the budget.
  bool take(uint64_t bytes) {
    auto used = used_.load(std::memory_order_relaxed);
    do {
      if (bytes > max_ || used > max_ - bytes)
        return false;
    } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_acq_rel));
    return true;
  }

  /// Gives back what take() got.
  void give_back(uint64_t bytes) {
    used_.fetch_sub(bytes, std::memory_order_acq_rel);
  }

  uint64_t used() const {
    return used_.load(std::memory_order_relaxed);
  }

private:
  const uint64_t max_;
  std::atomic<uint64_t> used_{0};
};

/// The default bound for an open-file limit of `fd_limit`: a reserve for
/// backend connections, probes, Docker calls and the admin listener (a
/// quarter of the limit, at most 512), and two descriptors per client
/// connection (its own and a backend's) out of the rest.
constexpr uint64_t default_max_connections(uint64_t fd_limit) {
  uint64_t reserve = fd_limit / 4 < 512 ? fd_limit / 4 : 512;
  uint64_t usable = fd_limit > reserve ? fd_limit - reserve : 0;
  return usable / 2 > 16 ? usable / 2 : 16;
}

} // namespace corral::proxy
