// One deadline per phase of a connection, checked on its io thread's tick.
#pragma once

#include <boost/beast/core/error.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <chrono>
#include <utility>

namespace corral::proxy {

/// The deadline of a connection's pending operation, kept as a time point
/// that the io thread's tick compares (io_thread::on_tick) instead of a
/// timer armed and cancelled around every read and write. When it passes,
/// the owner closes the socket, which completes the operation; outcome()
/// then reports it as the timeout it is.
class phase_deadline {
public:
  using clock_type = std::chrono::steady_clock;

  /// The operation about to start must complete within `timeout`.
  void set(std::chrono::milliseconds timeout) {
    at_ = clock_type::now() + timeout;
  }

  /// The pending operation must complete within `timeout` from now, or by
  /// its deadline if that comes first.
  void cap(std::chrono::milliseconds timeout) {
    at_ = std::min(at_, clock_type::now() + timeout);
  }

  /// No operation is timed.
  void clear() {
    at_ = clock_type::time_point::max();
  }

  /// On a tick: true (once) when `now` is past the deadline; the owner then
  /// closes the socket.
  bool expire_at(clock_type::time_point now) {
    if (now < at_)
      return false;
    clear();
    expired_ = true;
    return true;
  }

  /// Whether the pending operation was ended by expire_at(), forgetting it.
  bool take_expired() {
    return std::exchange(expired_, false);
  }

  /// The error a completed operation reports: a timeout when its deadline
  /// passed. The deadline is cleared either way.
  boost::system::error_code outcome(boost::system::error_code ec) {
    clear();
    return take_expired() ? boost::beast::error::timeout : ec;
  }

private:
  clock_type::time_point at_ = clock_type::time_point::max();
  bool expired_ = false;
};

} // namespace corral::proxy
