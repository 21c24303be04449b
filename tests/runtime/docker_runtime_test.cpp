// docker_runtime against the real daemon, with the corral-test-http-hello image.
#include "runtime/docker_runtime.hpp"
#include "tests/runtime/docker_scratch.hpp"
#include "tests/runtime/printers.hpp"
#include "tests/support/docker_env.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <mutex>
#include <thread>

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

class docker_runtime_test : public ::testing::Test {
protected:
  void SetUp() override {
    CORRAL_NEED_DOCKER();
    auto image = runtime_.image_id(hello_image);
    ASSERT_TRUE(image) << image.error().message;
  }

  docker_runtime runtime_{docker_socket()};
  docker_scratch scratch_{runtime_};
};

/// Runs watch_events on a thread of its own and collects what it delivers.
class event_watcher {
public:
  event_watcher(docker_runtime& runtime,
                std::map<std::string, std::string> labels) {
    thread_ = std::thread([this, &runtime, labels = std::move(labels)] {
      auto outcome = runtime.watch_events(
        labels, [this] { connected_.set_value(); },
        [this](const runtime_event& event) {
          std::lock_guard guard{mutex_};
          events_.push_back(event);
        },
        stop_);
      ended_at_ = clock_type::now();
      outcome_.set_value(outcome);
    });
  }

  ~event_watcher() {
    stop_ = true;
    thread_.join();
  }

  bool wait_connected(std::chrono::milliseconds timeout) {
    return connected_future_.wait_for(timeout) == std::future_status::ready;
  }

  /// The first event of `what` seen so far, if any.
  std::optional<runtime_event> find(runtime_event::kind what) {
    std::lock_guard guard{mutex_};
    auto it = std::find_if(events_.begin(), events_.end(),
                           [&](const auto& e) { return e.what == what; });
    if (it == events_.end())
      return std::nullopt;
    return *it;
  }

  /// Sets the stop flag and returns how long watch_events took to return,
  /// with its outcome.
  std::pair<std::chrono::milliseconds, result<void>> stop_and_wait() {
    auto stopping = clock_type::now();
    stop_ = true;
    auto outcome = outcome_future_.get();
    return {std::chrono::duration_cast<std::chrono::milliseconds>(ended_at_
                                                                  - stopping),
            outcome};
  }

private:
  std::atomic<bool> stop_{false};
  std::promise<void> connected_;
  std::future<void> connected_future_ = connected_.get_future();
  std::promise<result<void>> outcome_;
  std::future<result<void>> outcome_future_ = outcome_.get_future();
  clock_type::time_point ended_at_;
  std::mutex mutex_;
  std::vector<runtime_event> events_;
  std::thread thread_;
};

} // namespace

TEST_F(docker_runtime_test, ping_answers) {
  auto pong = runtime_.ping();
  EXPECT_TRUE(pong) << pong.error().message;
}

TEST_F(docker_runtime_test, roundtrip_create_start_inspect_list_stop_remove) {
  auto spec = scratch_.hello_spec(18101);
  spec.volume = scratch_.pool() + "-data";
  spec.volume_path = "/data";
  scratch_.track_volume(spec.volume);

  auto id = runtime_.create(spec);
  ASSERT_TRUE(id) << id.error().message;
  auto created = runtime_.inspect(*id);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(created->status, container_status::created);
  EXPECT_EQ(created->name, spec.name);
  EXPECT_EQ(created->image, hello_image);
  EXPECT_EQ(created->port, 18101);
  EXPECT_EQ(created->labels.at(labels::pool), scratch_.pool());

  auto started = runtime_.start(*id);
  ASSERT_TRUE(started) << started.error().message;
  EXPECT_TRUE(eventually([] { return http_get_status(18101) == 200; }, 5s))
    << "the container never answered HTTP on 127.0.0.1:18101";
  auto running = runtime_.inspect(spec.name); // by name, too
  ASSERT_TRUE(running) << running.error().message;
  EXPECT_EQ(running->status, container_status::running);
  EXPECT_EQ(running->id, *id);
  EXPECT_TRUE(runtime_.start(*id)) << "starting a running container is a no-op";

  auto listed = runtime_.list(scratch_.pool_labels());
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().id, *id);
  EXPECT_EQ(listed->front().port, 18101);
  EXPECT_EQ(listed->front().status, container_status::running);

  // The pool's volume cannot go while a container uses it.
  auto in_use = runtime_.remove_volume(spec.volume);
  ASSERT_FALSE(in_use);
  EXPECT_EQ(in_use.error().code, runtime_errc::engine_error);
  EXPECT_EQ(in_use.error().http_status, 409);

  // http-hello exits 0 on SIGTERM: well before the 5 s grace period.
  auto stopping = clock_type::now();
  auto stopped = runtime_.stop(*id, 5s);
  ASSERT_TRUE(stopped) << stopped.error().message;
  EXPECT_LT(clock_type::now() - stopping, 3s);
  auto exited = runtime_.inspect(*id);
  ASSERT_TRUE(exited);
  EXPECT_EQ(exited->status, container_status::exited);
  EXPECT_EQ(exited->exit_code, 0);

  ASSERT_TRUE(runtime_.remove(*id, false));
  auto gone = runtime_.inspect(*id);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, runtime_errc::not_found);
  auto empty = runtime_.list(scratch_.pool_labels());
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  auto volume_removed = runtime_.remove_volume(spec.volume);
  EXPECT_TRUE(volume_removed) << volume_removed.error().message;
}

TEST_F(docker_runtime_test, create_with_taken_name_is_name_conflict) {
  auto spec = scratch_.hello_spec(18102);
  ASSERT_TRUE(runtime_.create(spec));
  auto again = runtime_.create(spec);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, runtime_errc::name_conflict);
  EXPECT_EQ(again.error().http_status, 409);
  EXPECT_NE(again.error().message.find(spec.name), std::string::npos)
    << again.error().message;
}

// The container actor renames a killed container so that its replacement
// can take the name before the old one is removed. The engine allows that in
// both states the dead container can be in when the rename arrives: still
// running (the kill not handled yet) and exited (not removed yet).
TEST_F(docker_runtime_test, rename_of_a_running_container_frees_its_name) {
  auto spec = scratch_.hello_spec(18111);
  auto id = runtime_.create(spec);
  ASSERT_TRUE(id) << id.error().message;
  scratch_.track_container(*id);
  ASSERT_TRUE(runtime_.start(*id));
  auto before = runtime_.inspect(*id);
  ASSERT_TRUE(before) << before.error().message;
  ASSERT_EQ(before->status, container_status::running);

  auto renamed = runtime_.rename(*id, spec.name + "-gone");
  ASSERT_TRUE(renamed) << renamed.error().message;
  auto info = runtime_.inspect(*id);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->name, spec.name + "-gone");
  EXPECT_EQ(info->status, container_status::running);
  auto replacement = runtime_.create(spec);
  EXPECT_TRUE(replacement) << replacement.error().message;
}

TEST_F(docker_runtime_test, rename_of_an_exited_container_frees_its_name) {
  auto spec = scratch_.hello_spec(18112);
  auto id = runtime_.create(spec);
  ASSERT_TRUE(id) << id.error().message;
  scratch_.track_container(*id);
  ASSERT_TRUE(runtime_.start(*id));
  // The engine answers a stop only once the container exited.
  auto stopped = runtime_.stop(*id, 5s);
  ASSERT_TRUE(stopped) << stopped.error().message;
  auto before = runtime_.inspect(*id);
  ASSERT_TRUE(before) << before.error().message;
  ASSERT_EQ(before->status, container_status::exited);

  auto renamed = runtime_.rename(*id, spec.name + "-gone");
  ASSERT_TRUE(renamed) << renamed.error().message;
  auto info = runtime_.inspect(*id);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->name, spec.name + "-gone");
  auto replacement = runtime_.create(spec);
  EXPECT_TRUE(replacement) << replacement.error().message;
}

TEST_F(docker_runtime_test, rename_to_a_taken_name_is_name_conflict) {
  auto spec = scratch_.hello_spec(18113);
  auto id = runtime_.create(spec);
  ASSERT_TRUE(id) << id.error().message;
  auto other = scratch_.hello_spec(18114);
  ASSERT_TRUE(runtime_.create(other));
  auto taken = runtime_.rename(*id, other.name);
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, runtime_errc::name_conflict);
}

TEST_F(docker_runtime_test, rename_of_a_missing_container_is_not_found) {
  auto missing = runtime_.rename("corral-no-such-container", "x");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, runtime_errc::not_found);
}

TEST_F(docker_runtime_test, create_with_missing_image_is_image_missing) {
  auto spec = scratch_.hello_spec(18103);
  spec.image = "corral-test-nosuch:latest";
  auto id = runtime_.create(spec);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code, runtime_errc::image_missing);
  EXPECT_EQ(id.error().message,
            "image \"corral-test-nosuch:latest\" is not present locally: "
            "build it (scripts/build-images); corral never pulls");
}

TEST_F(docker_runtime_test, image_id_resolves_a_tag_to_the_image_id) {
  auto id = runtime_.image_id(hello_image);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->rfind("sha256:", 0), 0u) << *id;
  EXPECT_EQ(id->size(), 7u + 64u);
  // The ID names the same image.
  auto again = runtime_.image_id(*id);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, *id);
}

TEST_F(docker_runtime_test, image_id_of_missing_image_is_image_missing) {
  auto missing = runtime_.image_id("corral-test-nosuch:latest");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, runtime_errc::image_missing);
  EXPECT_NE(missing.error().message.find("corral never pulls"),
            std::string::npos);
}

TEST_F(docker_runtime_test, stop_kill_and_remove_of_stopped_or_missing_succeed) {
  auto spec = scratch_.hello_spec(18104);
  auto id = runtime_.create(spec);
  ASSERT_TRUE(id) << id.error().message;
  // Never started: 304 for stop, 409 for kill; both are the goal state.
  auto stopped = runtime_.stop(*id, 1s);
  EXPECT_TRUE(stopped) << stopped.error().message;
  auto killed = runtime_.kill(*id);
  EXPECT_TRUE(killed) << killed.error().message;
  EXPECT_TRUE(runtime_.remove(*id, true));
  auto removed_again = runtime_.remove(*id, true);
  EXPECT_TRUE(removed_again) << removed_again.error().message;
  auto stop_missing = runtime_.stop(*id, 1s);
  ASSERT_FALSE(stop_missing);
  EXPECT_EQ(stop_missing.error().code, runtime_errc::not_found);
}

TEST_F(docker_runtime_test, remove_volume_of_missing_volume_succeeds) {
  auto removed = runtime_.remove_volume(unique_name("corral-rt-novol"));
  EXPECT_TRUE(removed) << removed.error().message;
}

TEST_F(docker_runtime_test, inspect_of_missing_container_is_not_found) {
  auto info = runtime_.inspect(unique_name("corral-rt-nosuch"));
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code, runtime_errc::not_found);
  EXPECT_EQ(info.error().http_status, 404);
}

TEST_F(docker_runtime_test, names_that_would_change_the_url_never_reach_the_engine) {
  auto removed = runtime_.remove("x?force=true", true);
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error().code, runtime_errc::engine_error);
  EXPECT_EQ(removed.error().http_status, 0);
}

TEST_F(docker_runtime_test, kill_yields_a_die_event_with_the_port_label) {
  event_watcher watcher{runtime_, scratch_.pool_labels()};
  ASSERT_TRUE(watcher.wait_connected(2s));
  auto id = runtime_.create(scratch_.hello_spec(18105));
  ASSERT_TRUE(id) << id.error().message;
  ASSERT_TRUE(runtime_.start(*id));
  auto killing = clock_type::now();
  ASSERT_TRUE(runtime_.kill(*id));
  std::optional<runtime_event> died;
  ASSERT_TRUE(eventually(
    [&] { return (died = watcher.find(runtime_event::kind::die)).has_value(); },
    5s))
    << "no die event within 5 s";
  auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(
    clock_type::now() - killing);
  RecordProperty("kill_to_die_event_ms", static_cast<int>(latency.count()));
  EXPECT_EQ(died->id, *id);
  EXPECT_EQ(died->port, 18105);
  EXPECT_EQ(died->exit_code, 137);
  EXPECT_EQ(died->labels.at(labels::pool), scratch_.pool());
  EXPECT_GT(died->time_nano, 1'600'000'000'000'000'000LL);
  EXPECT_TRUE(watcher.find(runtime_event::kind::create).has_value());
  EXPECT_TRUE(watcher.find(runtime_event::kind::start).has_value());
}

TEST_F(docker_runtime_test, stop_flag_ends_watch_events_quickly) {
  event_watcher watcher{runtime_, scratch_.pool_labels()};
  ASSERT_TRUE(watcher.wait_connected(2s));
  auto [took, outcome] = watcher.stop_and_wait();
  RecordProperty("watch_events_cancel_ms", static_cast<int>(took.count()));
  EXPECT_LT(took, 200ms);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, runtime_errc::cancelled);
}

TEST(docker_runtime_unreachable_test,
     unreachable_daemon_is_reported_quickly_with_the_socket_path) {
  docker_runtime runtime{"/nonexistent/docker.sock"};
  auto started = clock_type::now();
  auto pong = runtime.ping();
  auto took = clock_type::now() - started;
  ASSERT_FALSE(pong);
  EXPECT_EQ(pong.error().code, runtime_errc::daemon_unreachable);
  EXPECT_NE(pong.error().message.find(
              "cannot reach the Docker daemon at /nonexistent/docker.sock: "),
            std::string::npos)
    << pong.error().message;
  EXPECT_NE(pong.error().message.find("is dockerd running?"), std::string::npos)
    << pong.error().message;
  EXPECT_LT(took, 500ms);

  container_spec spec;
  spec.name = "x";
  spec.image = "y";
  auto id = runtime.create(spec);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code, runtime_errc::daemon_unreachable);
}

TEST(docker_runtime_unreachable_test, watch_events_on_unreachable_daemon_fails) {
  docker_runtime runtime{"/nonexistent/docker.sock"};
  std::atomic<bool> stop{false};
  bool connected = false;
  auto outcome = runtime.watch_events(
    {}, [&] { connected = true; }, [](const runtime_event&) {}, stop);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, runtime_errc::daemon_unreachable);
  EXPECT_FALSE(connected);
}
