// What corral's actors measure about themselves, and the census that reads
// it on a scrape. No CAF here: actors/metered_actor.hpp feeds a meter from
// CAF's message loop; the admin side reads the census.
#pragma once

#include "metrics/instruments.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace corral::metrics {

/// One actor's own measurements: messages by kind, time spent handling them,
/// its mailbox before and after each. Only the actor writes (from whatever
/// thread runs it at the moment: CAF hands an actor to one thread at a time
/// and the hand-over orders the writes); the census reads at any time.
class actor_meter {
public:
  /// Message kinds tracked by name; later ones count as "other".
  static constexpr size_t max_kinds = 24;
  /// Longest kind name kept, e.g. "get_status".
  static constexpr size_t max_kind_name = 23;

  /// A message kind's identity: up to two leading atoms' values, or a
  /// reserved pair for responses and untyped messages.
  using kind_key = std::pair<uint64_t, uint64_t>;

  actor_meter(std::string role, uint16_t port) : role_(std::move(role)), port_(port) {
  }

  actor_meter(const actor_meter&) = delete;
  actor_meter& operator=(const actor_meter&) = delete;

  const std::string& role() const {
    return role_;
  }
  uint16_t port() const {
    return port_;
  }

  // -- the owner's side ----------------------------------------------------------------

  /// The slot counting messages of `key`; on first sight it is named by
  /// `name()` (called once per kind, never on the steady path).
  template <class NameFn>
  size_t kind(const kind_key& key, NameFn&& name) {
    auto used = used_.load(std::memory_order_relaxed);
    for (size_t i = 0; i < used; ++i)
      if (keys_[i] == key)
        return i;
    if (used == max_kinds)
      return max_kinds; // the overflow slot, "other"
    keys_[used] = key;
    std::string text = name();
    auto n = std::min(text.size(), max_kind_name);
    text.copy(names_[used].data(), n);
    names_[used][n] = '\0';
    // Publishes the name before any reader can see the slot.
    used_.store(used + 1, std::memory_order_release);
    return used;
  }

  /// A message is about to be handled, with `backlog` more waiting behind it.
  void begin(uint64_t now_ns, uint64_t backlog) noexcept {
    if (backlog > mailbox_max_.get())
      mailbox_max_.set(backlog);
    busy_since_ns_.set(now_ns);
  }

  /// The message of kind slot `kind` (from kind()) was handled; `backlog`
  /// messages wait now.
  void end(size_t kind, uint64_t now_ns, uint64_t backlog) noexcept {
    auto since = busy_since_ns_.get();
    if (since != 0) // a begin() without its end() would be timed from 0
      handling_.observe(now_ns > since ? now_ns - since : 0);
    counts_[kind].add();
    mailbox_.set(backlog);
    if (backlog > mailbox_max_.get())
      mailbox_max_.set(backlog);
    busy_since_ns_.set(0);
  }

  // -- any thread ------------------------------------------------------------------------

  /// Messages handled so far, by kind name.
  std::map<std::string, uint64_t> messages() const;
  /// Messages handled so far, all kinds.
  uint64_t messages_total() const;
  uint64_t mailbox() const {
    return mailbox_.get();
  }
  uint64_t mailbox_max() const {
    return mailbox_max_.get();
  }
  /// How long the message being handled now has taken at `now_ns`; 0 idle.
  double busy_seconds(uint64_t now_ns) const;
  histogram_snapshot handling_seconds() const {
    return handling_.seconds();
  }

private:
  std::string role_;
  uint16_t port_;
  // Written by the owner only; a reader reads the first used_ of them.
  std::array<kind_key, max_kinds> keys_{};
  std::array<std::array<char, max_kind_name + 1>, max_kinds> names_{};
  std::atomic<size_t> used_{0};
  // One more slot: "other", for kinds past max_kinds.
  std::array<counter, max_kinds + 1> counts_;
  duration_histogram handling_;
  gauge mailbox_;
  gauge mailbox_max_;
  gauge busy_since_ns_;
};

/// The measurements of one role (and port, for container actors), summed
/// over every actor that ever held it: the live ones and the retired.
struct actor_series {
  std::string role;
  /// 0 for roles that are not per container.
  uint16_t port = 0;
  uint64_t alive = 0;
  uint64_t spawned = 0;
  /// Actors that ended, by reason kind (normal, user_shutdown, kill, ...).
  std::map<std::string, uint64_t> exited;
  std::map<std::string, uint64_t> messages;
  /// Waiting now, summed over the live actors.
  uint64_t mailbox = 0;
  /// The most ever seen waiting at one actor of the series.
  uint64_t mailbox_max = 0;
  /// The longest current handling among the live actors; 0 when all idle.
  double busy_seconds = 0;
  histogram_snapshot handling;

  uint64_t messages_total() const;
};

/// Every actor corral runs registers here at spawn and leaves at exit. The
/// census owns no counter: it reads the meters, and keeps what retired
/// actors measured so that counters never go backwards.
class actor_census {
public:
  /// A new actor of `role` (with `port` for container actors) starts; it
  /// writes into the returned meter until discharge().
  std::shared_ptr<actor_meter> enlist(std::string role, uint16_t port = 0);

  /// The actor of `meter` ended for `reason` (see exit_reason_kind in
  /// actors/metered_actor.hpp). Its figures stay in its series.
  void discharge(const std::shared_ptr<actor_meter>& meter, std::string_view reason);

  /// Every series, ordered by role, then port; `now_ns` is the steady clock
  /// in nanoseconds (for busy_seconds).
  std::vector<actor_series> snapshot(uint64_t now_ns) const;

  /// The steady clock in nanoseconds, as meters are fed.
  static uint64_t now_ns() noexcept;

private:
  using series_key = std::pair<std::string, uint16_t>;

  mutable std::mutex mutex_; // enlist, discharge and snapshot: never per message
  std::vector<std::shared_ptr<actor_meter>> alive_;
  std::map<series_key, actor_series> retired_;
  std::map<series_key, uint64_t> spawned_;
};

} // namespace corral::metrics
