// Strict round robin over a changing set of ports. Pure; the balancer owns one.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

namespace corral {

/// Hands out ports in ascending order, wrapping around. The cursor is the last
/// port handed out, not an index, so backends joining or leaving never make
/// another backend lose or repeat its turn: over any run of n * k asks with
/// n stable backends, each gets exactly k.
class round_robin {
public:
  /// Adds a port; false if it was already there.
  bool add(uint16_t port) {
    auto i = std::lower_bound(ports_.begin(), ports_.end(), port);
    if (i != ports_.end() && *i == port)
      return false;
    ports_.insert(i, port);
    return true;
  }

  /// Removes a port; false if it was not there.
  bool remove(uint16_t port) {
    auto i = std::lower_bound(ports_.begin(), ports_.end(), port);
    if (i == ports_.end() || *i != port)
      return false;
    ports_.erase(i);
    return true;
  }

  bool contains(uint16_t port) const {
    return std::binary_search(ports_.begin(), ports_.end(), port);
  }

  bool empty() const noexcept { return ports_.empty(); }
  size_t size() const noexcept { return ports_.size(); }

  /// The routable ports, ascending.
  const std::vector<uint16_t>& ports() const noexcept { return ports_; }

  /// The next port after the last one handed out, or nullopt when empty.
  std::optional<uint16_t> next() {
    if (ports_.empty())
      return std::nullopt;
    auto i = last_ ? std::upper_bound(ports_.begin(), ports_.end(), *last_)
                   : ports_.begin();
    if (i == ports_.end())
      i = ports_.begin();
    last_ = *i;
    return *i;
  }

private:
  std::vector<uint16_t> ports_;
  std::optional<uint16_t> last_;
};

} // namespace corral
