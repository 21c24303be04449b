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

  /// Waits until `n` watch_events calls began; false after `timeout`.
  bool wait_attempts(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock{mutex_};
    return attempted_.wait_for(lock, timeout, [&] { return attempt_times_.size() >= n; });
  }

  int list_calls() {
    std::lock_guard guard{mutex_};
    return list_calls_;
  }

  result<void> ping() override { return unexpected("ping"); }
  result<std::string> image_id(const std::string&) override {
    return unexpected("image_id");
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
      attempted_.notify_all();
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
  std::condition_variable attempted_;
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

/// Passes every call to a real runtime and counts the event streams that
/// ended, so that a test can wait for failed attempts instead of sleeping
/// for them.
class counting_runtime final : public container_runtime {
public:
  explicit counting_runtime(container_runtime& real) : real_(real) {}

  /// Waits until `n` watch_events calls returned; false after `timeout`.
  bool wait_failures(int n, std::chrono::milliseconds timeout) {
    std::unique_lock lock{mutex_};
    return ended_.wait_for(lock, timeout, [&] { return streams_ended_ >= n; });
  }

  result<void> ping() override { return real_.ping(); }
  result<std::string> image_id(const std::string& image) override {
    return real_.image_id(image);
  }
  result<std::string> create(const container_spec& spec) override {
    return real_.create(spec);
  }
  result<void> start(const std::string& id) override { return real_.start(id); }
  result<void> stop(const std::string& id, std::chrono::seconds timeout) override {
    return real_.stop(id, timeout);
  }
  result<void> kill(const std::string& id, const std::string& signal) override {
    return real_.kill(id, signal);
  }
  result<void> remove(const std::string& id, bool force) override {
    return real_.remove(id, force);
  }
  result<void> rename(const std::string& id, const std::string& new_name) override {
    return real_.rename(id, new_name);
  }
  result<container_info> inspect(const std::string& id) override {
    return real_.inspect(id);
  }
  result<void> remove_volume(const std::string& name) override {
    return real_.remove_volume(name);
  }
  result<std::vector<container_info>>
  list(const std::map<std::string, std::string>& labels) override {
    return real_.list(labels);
  }
  result<void>
  watch_events(const std::map<std::string, std::string>& labels,
               const std::function<void()>& on_connected,
               const std::function<void(const runtime_event&)>& on_event,
               const std::atomic<bool>& stop) override {
    auto outcome = real_.watch_events(labels, on_connected, on_event, stop);
    std::lock_guard guard{mutex_};
    ++streams_ended_;
    ended_.notify_all();
    return outcome;
  }

private:
  container_runtime& real_;
  std::mutex mutex_;
  std::condition_variable ended_;
  int streams_ended_ = 0;
};

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
  // 100 ms, 200 ms, 400 ms between the attempts. A wait never ends early,
  // so the lower bounds are exact; a loaded machine only makes gaps longer,
  // so the upper bound is loose: it rules out a faster growth (a factor of
  // 4 would wait 1.6 s here), not a late wake-up.
  EXPECT_GE(times[1] - times[0], 95ms);
  EXPECT_GE(times[2] - times[1], 195ms);
  EXPECT_GE(times[3] - times[2], 395ms);
  EXPECT_LT(times[3] - times[2], 1500ms);
  // One warning for the whole outage, one line when it is over.
  EXPECT_EQ(count_lines_with(logged, " warn "), 1u) << logged;
  EXPECT_EQ(count_lines_with(logged, "event stream is back"), 1u) << logged;
  EXPECT_EQ(count_lines_with(logged, " failed_attempts=3 "), 1u) << logged;
}

TEST(event_feed_test, lost_stream_reconnects_resyncs_and_resets_the_backoff) {
  // Four failures first grow the backoff to 1.6 s, so that a reset (100 ms)
  // and none (1.6 s) stay far apart even when a loaded machine wakes late.
  scripted_runtime runtime{{attempt::fail, attempt::fail, attempt::fail, attempt::fail,
                            attempt::connect_and_break, attempt::connect_and_stay}};
  recorder seen;
  event_feed feed{runtime, pool_labels, seen.on_event(), seen.on_resync()};
  testing::internal::CaptureStderr();
  feed.start();
  ASSERT_TRUE(seen.wait_for(4, 5s));
  feed.stop();
  testing::internal::GetCapturedStderr();
  EXPECT_EQ(seen.log(), (std::vector<std::string>{"resync:1", "event:8000",
                                                  "resync:1", "event:8000"}));
  auto times = runtime.attempts();
  ASSERT_EQ(times.size(), 6u);
  // The good connection in between reset the backoff to 100 ms.
  EXPECT_GE(times[5] - times[4], 95ms);
  EXPECT_LT(times[5] - times[4], 800ms);
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
  // Attempts at 0, 100, 300 and 700 ms; the fourth fails at once, and the
  // feed sleeps in an 800 ms backoff before the fifth.
  scripted_runtime runtime{std::deque<attempt>(10, attempt::fail)};
  recorder seen;
  event_feed feed{runtime, pool_labels, seen.on_event(), seen.on_resync()};
  testing::internal::CaptureStderr();
  feed.start();
  bool fourth = runtime.wait_attempts(4, 5s);
  auto stopping = clock_type::now();
  feed.stop();
  auto took = clock_type::now() - stopping;
  testing::internal::GetCapturedStderr();
  ASSERT_TRUE(fourth) << "the feed never made its fourth attempt";
  EXPECT_EQ(runtime.attempts().size(), 4u);
  // Well under the ~800 ms left of the backoff: stop woke the wait up.
  EXPECT_LT(took, 400ms);
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
  docker_runtime docker{"/nonexistent/docker.sock"};
  counting_runtime runtime{docker};
  recorder seen;
  event_feed feed{runtime, pool_labels, seen.on_event(), seen.on_resync()};
  testing::internal::CaptureStderr();
  feed.start();
  // Attempts at 0, 100, 300 and 700 ms, each failing at once; then the
  // feed sleeps in an 800 ms backoff.
  bool fourth = runtime.wait_failures(4, 5s);
  auto stopping = clock_type::now();
  feed.stop();
  auto took = clock_type::now() - stopping;
  auto logged = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(fourth) << "the feed never failed a fourth time";
  // Well under the ~800 ms left of the backoff: stop woke the wait up.
  EXPECT_LT(took, 400ms);
  EXPECT_TRUE(seen.log().empty());
  EXPECT_EQ(count_lines_with(logged, " warn "), 1u) << logged;
  EXPECT_NE(logged.find("/nonexistent/docker.sock"), std::string::npos) << logged;
}
