// The Acts service's 5xx answers through corral: a crashed container's 500s
// reach clients only until corral replaces it, and a database write lock held
// elsewhere gives 503 while the container stays healthy and in the pool.
#include "tests/support/docker_env.hpp"
#include "tests/workload/acts_pool.hpp"
#include "tests/workload/database.hpp"

#include <gtest/gtest.h>

#include <future>

using namespace corral::test;

TEST(acts_server_errors, crashed_container_answers_500_through_the_proxy_until_replaced) {
  CORRAL_NEED_DOCKER();
  // Two failed probes take a container out: it stays in the rotation for at
  // least one probe interval (1 s) after the crash, so the 500s are certain
  // to reach the proxy's clients first.
  acts_pool pool{"wl-crash", 22020, "unhealthy_after = 2\n"};
  auto problem = pool.start();
  ASSERT_TRUE(problem.empty()) << problem;
  auto ports = pool.container_ports();

  ASSERT_EQ(pool.proxy("POST", "/api/v1/_crash").status, 200);
  uint16_t crashed = 0;
  for (auto port : ports)
    if (pool.direct(port, "GET", "/api/v1/_health").status == 500)
      crashed = port;
  ASSERT_NE(crashed, 0) << "no container answers 500 after POST /api/v1/_crash";
  auto crashed_id = pool.corral().container_on(crashed);

  // Round robin: of three requests exactly one meets the crashed container.
  int errors = 0;
  for (int i = 0; i < 3; ++i) {
    auto answer = pool.proxy("GET", "/api/v1/acts/count");
    if (answer.status == 500) {
      ++errors;
      EXPECT_NE(answer.body.find("crashed"), std::string::npos) << answer.body;
    } else {
      EXPECT_EQ(answer.status, 200);
    }
  }
  EXPECT_EQ(errors, 1);

  // corral replaces it on the same port, and then nothing fails.
  EXPECT_TRUE(wait_until(10s, [&] {
    auto id = pool.corral().container_on(crashed);
    return !id.empty() && id != crashed_id && pool.corral().ready_ports() == ports;
  })) << pool.corral().log();
  EXPECT_EQ(pool.direct(crashed, "GET", "/api/v1/_health").status, 200);
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(pool.proxy("GET", "/api/v1/acts/count").status, 200) << i;
  EXPECT_EQ(pool.stop(), 0) << pool.corral().log();
}

TEST(acts_server_errors, write_lock_held_elsewhere_gives_503_and_the_container_stays) {
  CORRAL_NEED_DOCKER();
  acts_pool pool{"wl-busy", 22040};
  auto problem = pool.start();
  ASSERT_TRUE(problem.empty()) << problem;
  auto before = pool.corral().slots();
  auto user = unique_name("wl-busy-user");
  auto category = unique_name("wl-busy-cat");
  ASSERT_EQ(pool.proxy("POST", "/api/v1/users", user_body(user)).status, 201);
  ASSERT_EQ(pool.proxy("POST", "/api/v1/categories", category_body(category)).status, 201);

  auto mountpoint = volume_mountpoint(pool.name() + "-data");
  ASSERT_FALSE(mountpoint.empty()) << "cannot find the volume " << pool.name() << "-data";
  outside_writer holder{mountpoint + "/acts.db"};
  ASSERT_TRUE(holder.exec("BEGIN IMMEDIATE")) << "cannot take the write lock";

  // The container waits its 5 s busy timeout, then gives up without writing.
  auto body = act_body(77, user, category, "waits", base64("img"));
  auto started = std::chrono::steady_clock::now();
  auto write = std::async(std::launch::async, [&] {
    http_client client;
    return client.request("POST", pool.ports().proxy_url("/api/v1/acts"), body,
                          {"Content-Type: application/json"}, 20s);
  });
  // All the while readers are not blocked (WAL), and every container, the
  // waiting one included, keeps answering: read until the write returns.
  http_client reader;
  int reads = 0;
  bool returned = wait_until(15s, [&] {
    auto answer = reader.request("GET", pool.ports().proxy_url("/api/v1/categories"));
    EXPECT_EQ(answer.status, 200) << answer.error;
    ++reads;
    return write.wait_for(0s) == std::future_status::ready;
  }, 50ms);
  ASSERT_TRUE(returned) << "the write never returned";
  EXPECT_GT(reads, 30);
  auto busy = write.get();
  auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(busy.status, 503) << busy.error << busy.body;
  EXPECT_NE(busy.body.find("busy"), std::string::npos) << busy.body;
  EXPECT_GE(waited, 4500ms);

  // Nothing was written; once the lock is released the same request succeeds.
  ASSERT_TRUE(holder.exec("ROLLBACK"));
  EXPECT_EQ(json_count(pool.proxy("GET", "/api/v1/acts/count").body), 0);
  EXPECT_EQ(pool.proxy("POST", "/api/v1/acts", body).status, 201);

  auto after = pool.corral().slots();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].container, before[i].container) << "port " << after[i].port;
    EXPECT_EQ(after[i].restarts, 0u) << "port " << after[i].port;
  }
  EXPECT_EQ(pool.stop(), 0) << pool.corral().log();
}
