// tools/common's GET load: how it names failures and adds up its threads' counts.
#include "tools/common/load.hpp"

#include <gtest/gtest.h>

using namespace corral::http;

TEST(load, failure_kinds_name_the_status_or_the_missing_answer) {
  EXPECT_FALSE(failure_kind({200, "", "", ""}));
  EXPECT_FALSE(failure_kind({204, "", "", ""}));
  EXPECT_EQ(failure_kind({502, "", "", ""}), "status 502");
  EXPECT_EQ(failure_kind({503, "", "", ""}), "status 503");
  EXPECT_EQ(failure_kind({0, "", "Timeout was reached", "Operation timed out after 10001 ms"}),
            "no response: Timeout was reached");
}

TEST(load, load_counts_merge_by_kind) {
  load_counts a;
  a.sent = 3;
  a.ok = 2;
  a.failures["status 502"] = 1;
  load_counts b;
  b.sent = 2;
  b.ok = 0;
  b.failures["status 502"] = 1;
  b.failures["no response: Timeout was reached"] = 1;
  a.merge(b);
  EXPECT_EQ(a.sent, 5u);
  EXPECT_EQ(a.ok, 2u);
  EXPECT_EQ(a.failed(), 3u);
  EXPECT_EQ(a.failures["status 502"], 2u);
}

TEST(load, summary_is_one_line_with_every_kind) {
  load_counts clean;
  clean.sent = 1200;
  clean.ok = 1200;
  EXPECT_EQ(clean.summary(), "1200 sent, 1200 ok");
  load_counts failing;
  failing.sent = 10;
  failing.ok = 7;
  failing.failures["status 502"] = 2;
  failing.failures["no response: Timeout was reached"] = 1;
  EXPECT_EQ(failing.summary(),
            "10 sent, 7 ok, 3 failed: no response: Timeout was reached x1 status 502 x2");
}
