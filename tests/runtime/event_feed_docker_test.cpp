// event_feed against the real daemon: the first connection resyncs the pool,
// a kill arrives as a die event, stop is prompt.
#include "runtime/docker_runtime.hpp"
#include "runtime/event_feed.hpp"
#include "tests/runtime/docker_scratch.hpp"
#include "tests/runtime/printers.hpp"
#include "tests/support/docker_env.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <optional>

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

TEST(event_feed_docker_test, resyncs_the_pool_then_reports_a_kill_as_die) {
  CORRAL_NEED_DOCKER();
  docker_runtime runtime{docker_socket()};
  docker_scratch scratch{runtime};
  auto id = runtime.create(scratch.hello_spec(18110));
  ASSERT_TRUE(id) << id.error().message;
  ASSERT_TRUE(runtime.start(*id));

  std::mutex mutex;
  std::optional<std::vector<container_info>> first_resync;
  int resyncs = 0;
  std::optional<runtime_event> died;
  event_feed feed{
    runtime, scratch.pool_labels(),
    [&](const runtime_event& event) {
      std::lock_guard guard{mutex};
      if (event.what == runtime_event::kind::die && !died)
        died = event;
    },
    [&](std::vector<container_info> containers) {
      std::lock_guard guard{mutex};
      if (resyncs++ == 0)
        first_resync = std::move(containers);
    }};
  feed.start();

  ASSERT_TRUE(eventually(
    [&] {
      std::lock_guard guard{mutex};
      return first_resync.has_value();
    },
    3s))
    << "no resync after the first connection";
  {
    std::lock_guard guard{mutex};
    ASSERT_EQ(first_resync->size(), 1u);
    EXPECT_EQ(first_resync->front().id, *id);
    EXPECT_EQ(first_resync->front().port, 18110);
    EXPECT_EQ(first_resync->front().status, container_status::running);
  }

  ASSERT_TRUE(runtime.kill(*id));
  ASSERT_TRUE(eventually(
    [&] {
      std::lock_guard guard{mutex};
      return died.has_value();
    },
    5s))
    << "no die event within 5 s of the kill";
  {
    std::lock_guard guard{mutex};
    EXPECT_EQ(died->id, *id);
    EXPECT_EQ(died->port, 18110);
    EXPECT_EQ(resyncs, 1);
  }

  auto stopping = clock_type::now();
  feed.stop();
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
    clock_type::now() - stopping);
  RecordProperty("event_feed_stop_ms", static_cast<int>(took.count()));
  EXPECT_LT(took, 200ms);
}
