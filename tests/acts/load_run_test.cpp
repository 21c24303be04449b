// Tests of how acts-load words a failed request: one line per failure, whatever the answer held.
#include "tools/acts_load/load_run.hpp"

#include <gtest/gtest.h>

namespace {

using namespace acts_load;

TEST(acts_load_describe, json_error_answers_give_their_error_text) {
  http_result result{400, R"({"error":"actId 7 is already used"})", {}};
  EXPECT_EQ(describe(result), "HTTP 400: actId 7 is already used");
}

// Regression: corral's proxy answers a POST cut off by a killed container
// with "502 backend failed\n" in plain text. The newline went into the
// reason, so the summary printed "1 x HTTP 502: backend failed" and then
// " (after 1 attempts)" on a line of its own.
TEST(acts_load_describe, plain_text_answers_are_folded_onto_one_line) {
  http_result result{502, "backend failed\n", {}};
  EXPECT_EQ(describe(result), "HTTP 502: backend failed");
  http_result spread{503, "  no backend\r\n is ready\n\n", {}};
  EXPECT_EQ(describe(spread), "HTTP 503: no backend is ready");
}

TEST(acts_load_describe, long_bodies_are_cut_and_transport_errors_named) {
  http_result long_body{500, std::string(500, 'x'), {}};
  EXPECT_EQ(describe(long_body), "HTTP 500: " + std::string(120, 'x'));
  http_result none{0, {}, "Connection refused"};
  EXPECT_EQ(describe(none), "no response: Connection refused");
}

} // namespace
