// event_feed's reconnect loop: backoff, resync, outage logging and stop, against
// a scripted runtime, plus a real docker_runtime on a socket nobody serves.
#include "runtime/docker_runtime.hpp"
#include "runtime/event_feed.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

using namespace corral;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

/// What one watch_events call of the scripted runtime does.
enum class attempt {
  /// Fails at once as if the daemon were down.
  fail,
  /// Connects, sends one `die` event, then breaks as if the daemon restarted.
  connect_and_break,
  /// Connects, sends one `die` event, then streams until stopped.
  connect_and_stay,
};

/// A container_runtime whose event stream follows a script; everything but
/// watch_events and list fails loudly, the feed must not call it.
class scripted_runtime final : public container_runtime {
public:
  explicit scripted_runtime(std::deque<attempt> script)
    : script_(std::move(script)) {
  }

  /// The next `n` list calls fail.
  void fail_next_lists(int n) {
    std::lock_guard guard{mutex_};
    failing_lists_ = n;
  }

  /// When each watch_events call began.
  std::vector<clock_type::time_point> attempts() {
    std::lock_guard guard{mutex_};
    return attempt_times_;
  }

  int list_calls() {
    std::lock_guard guard{mutex_};
    return list_calls_;
  }

  result<void> ping() override { return unexpected("ping"); }
  result<void> image_exists(const std::string&) override {
    return unexpected("image_exists");
  }
  result<std::string> create(const container_spec&) override {
    return unexpected("create");
  }
  result<void> start(const std::string&) override { return unexpected("start"); }
  result<void> stop(const std::string&, std::chrono::seconds) override {
    return unexpected("stop");
  }
  result<void> kill(const std::string&, const std::string&) override {
    return unexpected("kill");
  }
  result<void> remove(const std::string&, bool) override {
    return unexpected("remove");
  }
  result<void> rename(const std::string&, const std::string&) override {
    return unexpected("rename");
  }
  result<container_info> inspect(const std::string&) override {
    return unexpected("inspect");
  }
  result<void> remove_volume(const std::string&) override {
    return unexpected("remove_volume");
  }

  result<std::vector<container_info>>
  list(const std::map<std::string, std::string>& labels) override {
    std::lock_guard guard{mutex_};
    ++list_calls_;
    if (failing_lists_ > 0) {
      --failing_lists_;
      return runtime_error{runtime_errc::timeout, "list timed out", 0};
    }
    container_info info;
    info.id = "c" + std::to_string(list_calls_);
    info.labels = labels;
    info.port = 8000;
    return std::vector<container_info>{info};
  }

  result<void>
  watch_events(const std::map<std::string, std::string>&,
               const std::function<void()>& on_connected,
               const std::function<void(const runtime_event&)>& on_event,
               const std::atomic<bool>& stop) override {
    attempt next = attempt::connect_and_stay;
    {
      std::lock_guard guard{mutex_};
      attempt_times_.push_back(clock_type::now());
      if (!script_.empty()) {
        next = script_.front();
        script_.pop_front();
      }
    }
    if (next == attempt::fail)
      return down();
    on_connected();
    // A resync failure cancels the stream from inside on_connected.
    if (stop.load())
      return runtime_error{runtime_errc::cancelled, "cancelled", 0};
    runtime_event died;
    died.what = runtime_event::kind::die;
    died.port = 8000;
    died.exit_code = 137;
    on_event(died);
    if (next == attempt::connect_and_break)
      return down();
    while (!stop.load())
      std::this_thread::sleep_for(1ms);
    return runtime_error{runtime_errc::cancelled, "cancelled", 0};
  }

private:
  static runtime_error down() {
    return {runtime_errc::daemon_unreachable, "daemon down (scripted)", 0};
  }
  static runtime_error unexpected(const char* call) {
    ADD_FAILURE() << "event_feed called " << call;
    return {runtime_errc::engine_error, "unexpected", 0};
  }

  std::mutex mutex_;
  std::deque<attempt> script_;
  std::vector<clock_type::time_point> attempt_times_;
  int failing_lists_ = 0;
  int list_calls_ = 0;
};

/// Records what the feed hands out, in order, and lets a test wait for it.
class recorder {
public:
  event_feed::event_handler on_event() {
    return [this](const runtime_event& event) {
      record("event:" + std::to_string(event.port));
    };
  }
  event_feed::resync_handler on_resync() {
    return [this](std::vector<container_info> containers) {
      record("resync:" + std::to_string(containers.size()));
    };
  }

  /// Waits until `n` entries were recorded.
  bool wait_for(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock{mutex_};
    return changed_.wait_for(lock, timeout, [&] { return log_.size() >= n; });
  }

  std::vector<std::string> log() {
    std::lock_guard guard{mutex_};
    return log_;
  }

private:
  void record(std::string entry) {
    std::lock_guard guard{mutex_};
    log_.push_back(std::move(entry));
    changed_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> log_;
};

const std::map<std::string, std::string> pool_labels{{"corral.pool", "p"}};

size_t count_lines_with(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1))
    ++count;
  return count;
}

} // namespace

TEST(event_feed_test, first_connection_resyncs_before_any_event) {
  scripted_runtime runtime{{attempt::connect_and_stay}};
  recorder seen;
  event_feed feed{runtime, pool_labels, seen.on_event(), seen.on_resync()};
  feed.start();
  ASSERT_TRUE(seen.wait_for(2, 2s));
  feed.stop();
  EXPECT_EQ(seen.log(), (std::vector<std::string>{"resync:1", "event:8000"}));
}

TEST(event_feed_test, outage_backs_off_exponentially_logs_once_and_resyncs) {
  scripted_runtime runtime{
    {attempt::fail, attempt::fail, attempt::fail, attempt::connect_and_stay}};
  recorder seen;
  testing::internal::CaptureStderr();
  {
    event_feed feed{runtime, pool_labels, seen.on_event(), seen.on_resync()};
    feed.start();
    ASSERT_TRUE(seen.wait_for(2, 3s));
  }
  auto logged = testing::internal::GetCapturedStderr();
  EXPECT_EQ(seen.log(), (std::vector<std::string>{"resync:1", "event:8000"}));
  auto times = runtime.attempts();
  ASSERT_EQ(times.size(), 4u);
  // 100 ms, 200 ms, 400 ms between the attempts.
  EXPECT_GE(times[1] - times[0], 95ms);
  EXPECT_GE(times[2] - times[1], 195ms);
  EXPECT_GE(times[3] - times[2], 395ms);
  EXPECT_LT(times[3] - times[2], 800ms);
  // One warning for the whole outage, one line when it is over.
  EXPECT_EQ(count_lines_with(logged, " warn "), 1u) << logged;
  EXPECT_EQ(count_lines_with(logged, "event stream is back"), 1u) << logged;
  EXPECT_EQ(count_lines_with(logged, "and 3 failed attempts"), 1u) << logged;
}

TEST(event_feed_test, lost_stream_reconnects_resyncs_and_resets_the_backoff) {
  scripted_runtime runtime{{attempt::fail, attempt::connect_and_break,
                            attempt::connect_and_stay}};
  recorder seen;
  event_feed feed{runtime, pool_labels, seen.on_event(), seen.on_resync()};
  feed.start();
  ASSERT_TRUE(seen.wait_for(4, 3s));
  feed.stop();
  EXPECT_EQ(seen.log(), (std::vector<std::string>{"resync:1", "event:8000",
                                                  "resync:1", "event:8000"}));
  auto times = runtime.attempts();
  ASSERT_EQ(times.size(), 3u);
  // The good connection in between reset the backoff to 100 ms, not 200.
  EXPECT_GE(times[2] - times[1], 95ms);
  EXPECT_LT(times[2] - times[1], 195ms);
}

TEST(event_feed_test, failed_resync_drops_the_stream_and_retries) {
  scripted_runtime runtime{{attempt::connect_and_stay, attempt::connect_and_stay}};
  runtime.fail_next_lists(1);
  recorder seen;
  event_feed feed{runtime, pool_labels, seen.on_event(), seen.on_resync()};
  feed.start();
  ASSERT_TRUE(seen.wait_for(2, 3s));
  feed.stop();
  // No event may arrive without the state it changes: the first stream,
  // whose list failed, delivered nothing.
  EXPECT_EQ(seen.log(), (std::vector<std::string>{"resync:1", "event:8000"}));
  EXPECT_EQ(runtime.list_calls(), 2);
  EXPECT_EQ(runtime.attempts().size(), 2u);
}

TEST(event_feed_test, stop_interrupts_the_backoff_wait) {
  // Attempts at 0, 100, 300, 700 and 1500 ms: at 900 ms the feed sleeps in
  // an 800 ms backoff.
  scripted_runtime runtime{std::deque<attempt>(10, attempt::fail)};
  recorder seen;
  event_feed feed{runtime, pool_labels, seen.on_event(), seen.on_resync()};
  testing::internal::CaptureStderr();
  feed.start();
  std::this_thread::sleep_for(900ms); // lets the backoff grow; not a proof
  auto stopping = clock_type::now();
  feed.stop();
  auto took = clock_type::now() - stopping;
  testing::internal::GetCapturedStderr();
  EXPECT_LT(took, 100ms);
  EXPECT_EQ(runtime.attempts().size(), 4u);
  EXPECT_TRUE(seen.log().empty());
}

TEST(event_feed_test, stop_ends_a_connected_stream_quickly) {
  scripted_runtime runtime{{attempt::connect_and_stay}};
  recorder seen;
  event_feed feed{runtime, pool_labels, seen.on_event(), seen.on_resync()};
  feed.start();
  ASSERT_TRUE(seen.wait_for(2, 2s));
  auto stopping = clock_type::now();
  feed.stop();
  EXPECT_LT(clock_type::now() - stopping, 100ms);
}

TEST(event_feed_test, feed_can_restart_after_stop) {
  scripted_runtime runtime{{attempt::connect_and_stay, attempt::connect_and_stay}};
  recorder seen;
  event_feed feed{runtime, pool_labels, seen.on_event(), seen.on_resync()};
  feed.start();
  ASSERT_TRUE(seen.wait_for(2, 2s));
  feed.stop();
  feed.start();
  ASSERT_TRUE(seen.wait_for(4, 2s));
  feed.stop();
  feed.stop(); // a second stop does nothing
}

TEST(event_feed_test, unreachable_daemon_never_resyncs_and_stops_quickly) {
  docker_runtime runtime{"/nonexistent/docker.sock"};
  recorder seen;
  event_feed feed{runtime, pool_labels, seen.on_event(), seen.on_resync()};
  testing::internal::CaptureStderr();
  feed.start();
  std::this_thread::sleep_for(350ms); // a few failed attempts; not a proof
  auto stopping = clock_type::now();
  feed.stop();
  auto took = clock_type::now() - stopping;
  auto logged = testing::internal::GetCapturedStderr();
  EXPECT_LT(took, 200ms);
  EXPECT_TRUE(seen.log().empty());
  EXPECT_EQ(count_lines_with(logged, " warn "), 1u) << logged;
  EXPECT_NE(logged.find("/nonexistent/docker.sock"), std::string::npos) << logged;
}
