// The events feed: keeps one engine event stream open for a pool, reconnecting
// and re-listing the pool whenever the stream was lost.
#pragma once

#include "runtime/container_runtime.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace corral {

/// Runs container_runtime::watch_events on a thread of its own and keeps it
/// running. When the stream breaks (daemon restarted, socket gone) it
/// reconnects with exponential backoff, 100 ms doubling to 5 s and back to
/// 100 ms after a good connection, logging one warning per outage and one
/// info line on recovery.
///
/// The engine does not replay what happened while nobody listened, so after
/// every successful connection, the first one included, the feed lists the
/// pool's containers and hands the list to `on_resync`. It lists after the
/// stream is open, so no change can fall between list and stream; a change
/// may then be seen twice (in the list and as an event), which consumers must
/// tolerate. If that list fails, the feed treats it like a broken stream.
///
/// Both callbacks run on the feed's thread, one at a time; they must not
/// throw, and must not call stop() (it joins that very thread).
class event_feed {
public:
  /// Receives each event of the pool's containers.
  using event_handler = std::function<void(const runtime_event&)>;
  /// Receives every container of the pool after each (re)connection.
  using resync_handler = std::function<void(std::vector<container_info>)>;

  /// Watches containers carrying every one of `labels` (the pool's
  /// corral.pool label, typically). `runtime` must outlive the feed.
  event_feed(container_runtime& runtime,
             std::map<std::string, std::string> labels, event_handler on_event,
             resync_handler on_resync);

  /// Stops the feed (see stop()).
  ~event_feed();

  event_feed(const event_feed&) = delete;
  event_feed& operator=(const event_feed&) = delete;

  /// Starts the feed's thread. Does nothing when it runs already.
  void start();

  /// Ends the stream or the backoff wait and joins the thread: returns within
  /// ~100 ms unless a callback or the resync's list call is busy. Does
  /// nothing when the feed is not running; start() may follow.
  void stop();

private:
  void run();
  // Waits for `delay` or until stop(); returns false when stopped.
  bool wait_before_retry(std::chrono::milliseconds delay);

  container_runtime& runtime_;
  std::map<std::string, std::string> labels_;
  event_handler on_event_;
  resync_handler on_resync_;

  // Set by stop(); guarded by mutex_ so the backoff wait cannot miss it.
  bool stop_requested_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;
  // The flag watch_events polls: set by stop(), and by the feed itself to
  // drop a stream whose resync failed.
  std::atomic<bool> cancel_stream_{false};
  std::thread thread_;
};

} // namespace corral
