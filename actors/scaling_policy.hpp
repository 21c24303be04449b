// The scaling rule and its stabilisers. Pure; the scaler owns one decider.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>

namespace corral {

/// The plain rule: requests_in_window / per_container + 1, clamped to
/// [min_size, max_size]. 0-19 requests with 20 per container -> 1, 20-39 -> 2.
inline uint32_t desired_size(uint64_t requests, uint32_t per_container, uint32_t min_size,
                             uint32_t max_size) {
  uint64_t wanted = requests / std::max<uint32_t>(per_container, 1) + 1;
  wanted = std::clamp<uint64_t>(wanted, min_size, max_size);
  return static_cast<uint32_t>(wanted);
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
  /// wanted size.
  uint32_t decide(uint32_t current, uint32_t wanted) {
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
    if (max_step_ > 0) {
      if (target > current)
        target = std::min(target, current + max_step_);
      else if (target < current)
        target = std::max(target, current > max_step_ ? current - max_step_ : 0u);
    }
    if (target != current)
      recent_.clear();
    return target;
  }

private:
  uint32_t scale_down_after_;
  uint32_t max_step_;
  /// Wanted sizes of the latest consecutive windows that wanted less.
  std::deque<uint32_t> recent_;
};

} // namespace corral
