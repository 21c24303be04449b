// The scaling rule and its stabilisers. Pure; the scaler owns one decider.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>

namespace corral {

/// The plain rule before any bound: requests_in_window / per_container + 1.
/// 0-19 requests with 20 per container -> 1, 20-39 -> 2.
inline uint64_t rule_size(uint64_t requests, uint32_t per_container) {
  return requests / std::max<uint32_t>(per_container, 1) + 1;
}

/// The plain rule, clamped to [min_size, max_size].
inline uint32_t desired_size(uint64_t requests, uint32_t per_container, uint32_t min_size,
                             uint32_t max_size) {
  return static_cast<uint32_t>(
    std::clamp<uint64_t>(rule_size(requests, per_container), min_size, max_size));
}

/// Why a window's decision came out as it did (corral_scale_decisions_total).
enum class scale_reason : uint8_t {
  /// The rule's size, as it is.
  rule,
  /// A smaller size waits until scale_down_after windows wanted it.
  stabilising,
  /// max_step cut the step short.
  step_limit,
  /// min_containers or max_containers capped the rule (set by the caller,
  /// which knows the unclamped size).
  bounds,
};

constexpr const char* to_string(scale_reason reason) {
  switch (reason) {
    case scale_reason::rule:
      return "rule";
    case scale_reason::stabilising:
      return "stabilising";
    case scale_reason::step_limit:
      return "step_limit";
    case scale_reason::bounds:
      return "bounds";
  }
  return "rule";
}

/// The size to ask for, and why.
struct scale_decision {
  uint32_t target = 0;
  scale_reason reason = scale_reason::rule;
};

/// "up", "down" or "hold" for a decision from `current` to `target`.
constexpr const char* scale_direction(uint32_t current, uint32_t target) {
  return target > current ? "up" : target < current ? "down" : "hold";
}

/// Turns each window's wanted size into a decision, applying scale-down
/// stabilisation (shrink only when every one of the last `scale_down_after`
/// windows wanted less than now, and then to the largest of them) and a bound
/// on the step (0 = unbounded). Growing is never delayed.
class scale_decider {
public:
  scale_decider(uint32_t scale_down_after, uint32_t max_step)
    : scale_down_after_(std::max<uint32_t>(scale_down_after, 1)), max_step_(max_step) {
  }

  /// Returns the size to ask for, given the current size and this window's
  /// wanted size, and the reason it differs from `wanted` (if it does).
  scale_decision decide(uint32_t current, uint32_t wanted) {
    uint32_t target = current;
    if (wanted >= current) {
      recent_.clear();
      target = wanted;
    } else {
      recent_.push_back(wanted);
      if (recent_.size() > scale_down_after_)
        recent_.pop_front();
      if (recent_.size() == scale_down_after_)
        target = *std::max_element(recent_.begin(), recent_.end());
    }
    auto reason = target == wanted ? scale_reason::rule : scale_reason::stabilising;
    if (max_step_ > 0) {
      auto stepped = target;
      if (target > current)
        stepped = std::min(target, current + max_step_);
      else if (target < current)
        stepped = std::max(target, current > max_step_ ? current - max_step_ : 0u);
      if (stepped != target)
        reason = scale_reason::step_limit;
      target = stepped;
    }
    if (target != current)
      recent_.clear();
    return {target, reason};
  }

private:
  uint32_t scale_down_after_;
  uint32_t max_step_;
  /// Wanted sizes of the latest consecutive windows that wanted less.
  std::deque<uint32_t> recent_;
};

} // namespace corral
