// event_feed: the reconnect loop around watch_events, with backoff and resync.
#include "runtime/event_feed.hpp"

#include "log/log.hpp"

#include <algorithm>
#include <utility>

namespace corral {

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

constexpr auto initial_backoff = 100ms;
constexpr auto max_backoff = 5000ms;

/// The events feed logs as itself, a part of corral that is not an actor.
constexpr std::string_view log_component = "events";

long long millis_since(clock_type::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           clock_type::now() - since)
    .count();
}

} // namespace

event_feed::event_feed(container_runtime& runtime,
                       std::map<std::string, std::string> labels,
                       event_handler on_event, resync_handler on_resync)
  : runtime_(runtime),
    labels_(std::move(labels)),
    on_event_(std::move(on_event)),
    on_resync_(std::move(on_resync)) {
}

event_feed::~event_feed() {
  stop();
}

void event_feed::start() {
  if (thread_.joinable())
    return;
  {
    std::lock_guard guard{mutex_};
    stop_requested_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void event_feed::stop() {
  if (!thread_.joinable())
    return;
  {
    std::lock_guard guard{mutex_};
    stop_requested_ = true;
  }
  // The stream polls this flag; the backoff wait listens to the condition.
  cancel_stream_.store(true);
  wake_.notify_all();
  thread_.join();
}

bool event_feed::wait_before_retry(std::chrono::milliseconds delay) {
  std::unique_lock lock{mutex_};
  return !wake_.wait_for(lock, delay, [this] { return stop_requested_; });
}

void event_feed::run() {
  auto backoff = std::chrono::milliseconds{initial_backoff};
  // An outage starts with the first failed attempt and ends with the next
  // good connection; it is logged once at each end, never per attempt.
  bool in_outage = false;
  auto outage_start = clock_type::now();
  int failed_attempts = 0;

  for (;;) {
    // Cleared before looking at stop_requested_: a stop() racing with this
    // line either is seen below or sets the flag again after this store.
    cancel_stream_.store(false);
    {
      std::lock_guard guard{mutex_};
      if (stop_requested_)
        return;
    }
    std::string resync_failure;
    auto on_connected = [&] {
      auto containers = runtime_.list(labels_);
      if (!containers) {
        // Events without the state they change are worse than no events:
        // drop the stream and try the whole (re)connection again.
        resync_failure = containers.error().message;
        cancel_stream_.store(true);
        return;
      }
      backoff = initial_backoff;
      if (in_outage) {
        log::info(log_component, "the Docker event stream is back; resyncing",
                  {{"outage_ms", millis_since(outage_start)},
                   {"failed_attempts", failed_attempts},
                   {"containers", containers->size()}});
        in_outage = false;
      } else {
        log::debug(log_component, "watching container events; resyncing",
                   {{"containers", containers->size()}});
      }
      if (on_resync_)
        on_resync_(std::move(*containers));
    };
    auto outcome =
      runtime_.watch_events(labels_, on_connected, on_event_, cancel_stream_);
    {
      std::lock_guard guard{mutex_};
      if (stop_requested_)
        return;
    }
    std::string why;
    if (!resync_failure.empty())
      why = "cannot list the pool's containers: " + resync_failure;
    else if (!outcome)
      why = outcome.error().message;
    else
      why = "the event stream ended";
    if (!in_outage) {
      in_outage = true;
      outage_start = clock_type::now();
      failed_attempts = 0;
      log::warn(log_component, "no Docker event stream; reconnecting with backoff",
                {{"reason", why}, {"backoff", "100 ms doubling to 5 s"}});
    } else {
      log::debug(log_component, "still no event stream", {{"reason", why}});
    }
    ++failed_attempts;
    if (!wait_before_retry(backoff))
      return;
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, max_backoff);
  }
}

} // namespace corral
