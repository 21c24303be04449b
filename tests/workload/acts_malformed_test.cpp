// Malformed bodies through corral: not JSON, wrong types, huge strings,
// invalid base64 and a 20 MB image are refused with 400 or 413, and every
// container is afterwards the very same container, healthy and serving.
#include "tests/support/docker_env.hpp"
#include "tests/workload/acts_pool.hpp"

#include <gtest/gtest.h>

using namespace corral::test;

namespace {

/// One malformed request and what it must get.
struct bad_request {
  std::string what;
  std::string path;
  std::string body;
  long status = 400;
};

/// An act body with actId 43 and `field` replaced by the raw JSON `value`.
/// Nothing else is wrong with it, so a refusal is for that field alone (43
/// is never stored: a 400 cannot come from a duplicate id).
std::string act_with(const std::string& user, const std::string& category,
                     const std::string& field, const std::string& value) {
  std::string body = R"({"actId":)" + (field == "actId" ? value : "43")
                     + R"(,"username":)" + (field == "username" ? value : '"' + user + '"')
                     + R"(,"timestamp":)"
                     + (field == "timestamp" ? value : '"' + act_timestamp(1) + '"')
                     + R"(,"caption":)" + (field == "caption" ? value : R"("c")")
                     + R"(,"categoryName":)"
                     + (field == "categoryName" ? value : '"' + category + '"')
                     + R"(,"imgB64":)" + (field == "imgB64" ? value : R"("aW1n")") + "}";
  return body;
}

std::vector<bad_request> malformed_requests(const std::string& user, const std::string& category) {
  const std::string acts = "/api/v1/acts";
  const std::string megabyte(1 << 20, 'a');
  auto quoted = [](const std::string& text) { return '"' + text + '"'; };
  return {
    // Not JSON at all.
    {"plain text act", acts, "hello"},
    {"truncated object", acts, R"({"actId": 1, "username": )"},
    {"binary noise", acts, random_bytes(10'000, 1)},
    {"JSON list as act", acts, "[1, 2, 3]"},
    {"plain text user", "/api/v1/users", "alice:secret"},
    {"truncated category list", "/api/v1/categories", R"(["cats")"},
    {"NaN upvote", "/api/v1/acts/upvote", "[NaN]"},
    {"nested 100000 deep", acts, std::string(100'000, '[') + std::string(100'000, ']')},
    // Well-formed JSON, wrong types.
    {"actId as string", acts, act_with(user, category, "actId", R"("43")")},
    {"actId as float", acts, act_with(user, category, "actId", "43.0")},
    {"actId negative", acts, act_with(user, category, "actId", "-43")},
    {"actId past 2^63", acts, act_with(user, category, "actId", "9223372036854775808")},
    {"actId as bool", acts, act_with(user, category, "actId", "true")},
    {"username as number", acts, act_with(user, category, "username", "5")},
    {"caption null", acts, act_with(user, category, "caption", "null")},
    {"categoryName as list", acts, act_with(user, category, "categoryName", R"(["x"])")},
    {"imgB64 as object", acts, act_with(user, category, "imgB64", "{}")},
    {"timestamp as number", acts, act_with(user, category, "timestamp", "20240301")},
    {"timestamp not a date", acts, act_with(user, category, "timestamp", R"("31-02-2024:00-00-12")")},
    {"password as number", "/api/v1/users", R"({"username":"x","password":123})"},
    {"category as string", "/api/v1/categories", R"("cats")"},
    {"category as number", "/api/v1/categories", "[1]"},
    {"upvote as object", "/api/v1/acts/upvote", R"({"actId":1})"},
    {"upvote fractional", "/api/v1/acts/upvote", "[1.5]"},
    // Huge strings where names and formats go.
    {"1 MB username", "/api/v1/users", user_body(megabyte)},
    {"1 MB category", "/api/v1/categories", category_body(megabyte)},
    {"1 MB username in an act", acts, act_with(user, category, "username", quoted(megabyte))},
    {"1 MB category in an act", acts, act_with(user, category, "categoryName", quoted(megabyte))},
    {"1 MB timestamp", acts, act_with(user, category, "timestamp", quoted(megabyte))},
    {"1 MB of digits as actId", acts, act_with(user, category, "actId", std::string(1 << 20, '7'))},
    {"1 MB field name", acts, R"({")" + megabyte + R"(":1})"},
    // Invalid base64.
    {"base64 with a bang", acts, act_with(user, category, "imgB64", R"("not base64!")")},
    {"base64 unpadded", acts, act_with(user, category, "imgB64", R"("aW1")")},
    {"base64 short padding", acts, act_with(user, category, "imgB64", R"("QQ=")")},
    {"base64 non-canonical bits", acts, act_with(user, category, "imgB64", R"("QR==")")},
    {"base64 with spaces", acts, act_with(user, category, "imgB64", R"("aW1n aW1n")")},
    {"base64 empty", acts, act_with(user, category, "imgB64", R"("")")},
    {"4 MB base64, one bad byte at the end", acts,
     act_with(user, category, "imgB64", quoted(base64(random_bytes(3 << 20, 2)) + "*==="))},
    // Too large: 20 MB of image is ~27 MB of base64, past the 16 MiB limit.
    {"20 MB image", acts,
     act_with(user, category, "imgB64", quoted(base64(random_bytes(20 << 20, 3)))), 413},
  };
}

} // namespace

TEST(acts_malformed, bad_bodies_get_400_or_413_and_leave_every_container_as_it_was) {
  CORRAL_NEED_DOCKER();
  acts_pool pool{"wl-malformed", 22060};
  auto problem = pool.start();
  ASSERT_TRUE(problem.empty()) << problem;
  auto before = pool.corral().slots();
  ASSERT_EQ(before.size(), acts_pool::size);

  auto user = unique_name("wl-mal-user");
  auto category = unique_name("wl-mal-cat");
  ASSERT_EQ(pool.proxy("POST", "/api/v1/users", user_body(user)).status, 201);
  ASSERT_EQ(pool.proxy("POST", "/api/v1/categories", category_body(category)).status, 201);
  // The template every bad act is made from is itself fine: each case
  // breaks exactly one thing.
  ASSERT_EQ(pool.proxy("POST", "/api/v1/acts", act_with(user, category, "actId", "42")).status,
            201);

  // Each case twice, so that round robin takes it to more than one container.
  for (auto& bad : malformed_requests(user, category)) {
    for (int round = 0; round < 2; ++round) {
      auto answer = pool.proxy("POST", bad.path, bad.body);
      EXPECT_EQ(answer.status, bad.status)
        << bad.what << ": " << answer.error << answer.body.substr(0, 200);
      // A container refuses an oversized body with 413 too; corral's own
      // text says the proxy refused it before any container saw it.
      if (bad.status == 413) {
        EXPECT_EQ(answer.body, "request body too large\n") << bad.what;
      }
    }
  }

  // The proxy refuses the 20 MB body itself (its max_body is the service's
  // 16 MiB). Sent past corral, a container must refuse it just the same.
  auto huge = act_with(user, category, "imgB64", '"' + base64(random_bytes(20 << 20, 4)) + '"');
  auto direct = pool.direct(pool.container_ports()[0], "POST", "/api/v1/acts", huge);
  EXPECT_EQ(direct.status, 413) << direct.error;
  EXPECT_NE(direct.body.find("exceeds 16 MiB"), std::string::npos) << direct.body;

  // Nothing was stored, and nothing was hurt: the same containers, never
  // restarted, all ready and answering.
  EXPECT_EQ(json_count(pool.proxy("GET", "/api/v1/acts/count").body), 1);
  EXPECT_TRUE(pool.all_healthy(5s)) << pool.corral().log();
  auto after = pool.corral().slots();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].container, before[i].container) << "port " << after[i].port;
    EXPECT_EQ(after[i].restarts, 0u) << "port " << after[i].port;
    EXPECT_EQ(after[i].state, "ready") << "port " << after[i].port;
  }
  EXPECT_EQ(running_names(pool.name()).size(), acts_pool::size);
  EXPECT_EQ(pool.stop(), 0) << pool.corral().log();
}
