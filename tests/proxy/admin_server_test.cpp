// The admin endpoint: routing GETs to the app, replies from other threads.
#include "proxy/admin_server.hpp"
#include "tests/proxy/support.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace corral::test {
namespace {

admin_settings ephemeral() {
  return admin_settings{{"127.0.0.1", 0}};
}

/// Replies from a thread of its own, like an app that asks its actors.
class admin_test : public ::testing::Test {
protected:
  ~admin_test() override {
    for (auto& t : workers)
      t.join();
  }

  admin_server::handler_function replying_later() {
    return [this](std::string_view path, admin_server::reply_function reply) {
      std::lock_guard guard{mutex};
      paths.emplace_back(path);
      std::string p{path};
      workers.emplace_back([p, reply = std::move(reply)] {
        if (p == "/metrics")
          reply(200, "text/plain; version=0.0.4", "corral_requests 1\n");
        else
          reply(404, "text/plain", "no such page\n");
      });
    };
  }

  std::mutex mutex;
  std::vector<std::string> paths;
  std::vector<std::thread> workers;
};

TEST_F(admin_test, get_is_answered_by_the_handler_from_another_thread) {
  admin_server admin{ephemeral(), replying_later()};
  admin.start();
  client_request req;
  req.target = "/metrics?verbose=1";
  auto res = fetch(admin.port(), req);
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.header("Content-Type"), "text/plain; version=0.0.4");
  EXPECT_EQ(res.body, "corral_requests 1\n");
  std::lock_guard guard{mutex};
  // The query string is not part of the path.
  EXPECT_EQ(paths, std::vector<std::string>{"/metrics"});
}

TEST_F(admin_test, unknown_paths_get_the_handlers_answer) {
  admin_server admin{ephemeral(), replying_later()};
  admin.start();
  client_request req;
  req.target = "/nope";
  auto res = fetch(admin.port(), req);
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 404u);
}

TEST_F(admin_test, keep_alive_connection_serves_several_requests) {
  admin_server admin{ephemeral(), replying_later()};
  admin.start();
  test_client client{admin.port()};
  client_request req;
  req.target = "/metrics";
  for (int i = 0; i < 3; ++i) {
    auto res = client.send(req);
    ASSERT_TRUE(res.ok) << res.error;
    EXPECT_EQ(res.status, 200u);
  }
}

TEST_F(admin_test, other_methods_get_405) {
  admin_server admin{ephemeral(), replying_later()};
  admin.start();
  client_request req;
  req.method = "POST";
  req.target = "/metrics";
  req.body = "x";
  auto res = fetch(admin.port(), req);
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 405u);
  EXPECT_EQ(res.header("Allow"), "GET");
  std::lock_guard guard{mutex};
  EXPECT_TRUE(paths.empty());
}

TEST_F(admin_test, a_dropped_reply_answers_500) {
  admin_server admin{ephemeral(),
                     [](std::string_view, admin_server::reply_function) {}};
  admin.start();
  auto res = fetch(admin.port());
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 500u);
}

TEST_F(admin_test, only_the_first_reply_counts) {
  admin_server admin{ephemeral(),
                     [](std::string_view, admin_server::reply_function r) {
                       r(200, "text/plain", "first");
                       r(500, "text/plain", "second");
                     }};
  admin.start();
  test_client client{admin.port()};
  auto res = client.send({});
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.body, "first");
  // Still in step: no stray second answer on the connection.
  auto again = client.send({});
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_EQ(again.body, "first");
}

TEST_F(admin_test, a_reply_after_shutdown_is_ignored) {
  admin_server::reply_function kept;
  std::mutex m;
  std::condition_variable cv;
  auto admin = std::make_unique<admin_server>(
    ephemeral(), [&](std::string_view, admin_server::reply_function r) {
      {
        std::lock_guard guard{m};
        kept = std::move(r);
      }
      cv.notify_all();
    });
  admin->start();
  test_client client{admin->port()};
  ASSERT_TRUE(client.write_raw("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  {
    std::unique_lock lock{m};
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return kept != nullptr; }));
  }
  admin->shutdown();
  admin.reset();
  // The server is gone; the app answers late, then drops the reply.
  std::lock_guard guard{m};
  kept(200, "text/plain", "late");
  kept = nullptr;
}

TEST_F(admin_test, bind_failure_names_the_address) {
  admin_server first{ephemeral(), replying_later()};
  first.start();
  admin_server second{admin_settings{{"127.0.0.1", first.port()}},
                      replying_later()};
  try {
    second.start();
    ADD_FAILURE() << "second bind succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot listen on 127.0.0.1:"
                                       + std::to_string(first.port())
                                       + ": address already in use");
  }
}

} // namespace
} // namespace corral::test
