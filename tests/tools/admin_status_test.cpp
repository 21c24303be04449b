// Reading corral's GET /status (tools/common): the pool, its slots and the proxy's counters.
#include "tools/common/admin_status.hpp"

#include <gtest/gtest.h>

using namespace corral::admin;

// Reading what corral really writes is tested where corral writes it:
// tests/unit/admin_documents_test.cpp renders /status and parses it back.

TEST(admin_status, whole_means_exactly_desired_slots_all_ready) {
  pool_view view;
  view.desired = 2;
  view.slots = {{21010, "ready", "a", 0, ""}, {21011, "ready", "b", 0, ""}};
  EXPECT_TRUE(view.whole());
  view.slots.push_back({21012, "draining", "c", 0, ""});
  EXPECT_FALSE(view.whole()); // a leaving slot is not the pool at its size yet
  view.slots.pop_back();
  view.slots[0].state = "checking";
  EXPECT_FALSE(view.whole());
}

TEST(admin_status, refuses_documents_that_are_not_corrals) {
  EXPECT_FALSE(parse_status(""));
  EXPECT_FALSE(parse_status("not json"));
  EXPECT_FALSE(parse_status("[]"));
  EXPECT_FALSE(parse_status(R"({"pool": {"name": "x"}})"));
  EXPECT_FALSE(parse_status(R"({"pool": {"desired": -1, "slots": []}})"));
  EXPECT_FALSE(parse_status(R"({"pool": {"desired": 1, "slots": [{"port": 0}]}})"));
  EXPECT_FALSE(parse_status(R"({"pool": {"desired": 1, "slots": [7]}})"));
  auto empty = parse_status(R"({"pool": {"name": "p", "desired": 0, "slots": []}})");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->slots.empty());
}

TEST(admin_status, reads_the_proxy_counters_when_present) {
  auto view = parse_status(R"({"pool": {"name": "p", "desired": 0, "slots": []},
    "proxy": {"connections_open": 4, "requests": 900, "responses": {"2xx": 890},
              "bad_gateway": 1, "no_backend": 2, "gateway_timeout": 3, "retries": 40}})");
  ASSERT_TRUE(view && view->proxy);
  EXPECT_EQ(view->proxy->requests, 900u);
  EXPECT_EQ(view->proxy->retries, 40u);
  EXPECT_EQ(view->proxy->bad_gateway, 1u);
  EXPECT_EQ(view->proxy->no_backend, 2u);
  EXPECT_EQ(view->proxy->gateway_timeout, 3u);
  auto delta = view->proxy->since({100, 10, 1, 0, 0});
  EXPECT_EQ(delta.requests, 800u);
  EXPECT_EQ(delta.retries, 30u);
  EXPECT_EQ(delta.bad_gateway, 0u);
  EXPECT_EQ(delta.no_backend, 2u);
  EXPECT_FALSE(parse_status(R"({"pool": {"desired": 0, "slots": []}})")->proxy);
}
