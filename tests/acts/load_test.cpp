// Tests of the acts-load executable against a bare acts binary.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "tests/acts/child_process.hpp"
#include "tests/acts/raw_http.hpp"
#include "tests/acts/temp_dir.hpp"

namespace {

using namespace acts_test;

TEST(acts_load, uploads_ten_images_and_verifies_every_one) {
  temp_dir dir;
  acts_server server{dir.file("acts.db"), dir.file("acts.log")};
  child_process load{{ACTS_LOAD_BINARY, "--url", "http://127.0.0.1:" + std::to_string(server.port()), "--images",
                      "10", "--categories", "3", "--seed", "1", "--min-kb", "1", "--max-kb", "64"},
                     {},
                     dir.file("load.log")};
  auto status = load.wait_exit(std::chrono::seconds(30));
  ASSERT_TRUE(status) << "acts-load still running after 30 s";
  auto output = load.output();
  EXPECT_EQ(*status, 0) << output;
  for (const char* row : {"uploaded +10", "acknowledged +10", "failed +0", "verified +10", "missing +0",
                          "corrupted +0", "duplicates +0", "result: OK"})
    EXPECT_TRUE(std::regex_search(output, std::regex{std::string{"\n *"} + row + "\\b"})) << row << "\n" << output;
  auto count = http_call(server.port(), "GET", "/api/v1/acts/count");
  ASSERT_TRUE(count) << "no reply to GET /api/v1/acts/count";
  EXPECT_EQ(count->body, "[10]");
}

TEST(acts_load, second_run_reuses_the_user_and_categories) {
  temp_dir dir;
  acts_server server{dir.file("acts.db"), dir.file("acts.log")};
  auto url = "http://127.0.0.1:" + std::to_string(server.port());
  for (int run = 0; run < 2; ++run) {
    child_process load{{ACTS_LOAD_BINARY, "--url", url, "--images", "3", "--categories", "2", "--min-kb", "1",
                        "--max-kb", "4"},
                       {},
                       dir.file("load.log")};
    auto status = load.wait_exit(std::chrono::seconds(30));
    ASSERT_TRUE(status);
    EXPECT_EQ(*status, 0) << load.output();
  }
  auto count = http_call(server.port(), "GET", "/api/v1/acts/count");
  ASSERT_TRUE(count) << "no reply to GET /api/v1/acts/count";
  EXPECT_EQ(count->body, "[6]");
}

TEST(acts_load, crashed_service_fails_the_run_with_status_1) {
  temp_dir dir;
  acts_server server{dir.file("acts.db"), dir.file("acts.log")};
  auto crash = http_call(server.port(), "POST", "/api/v1/_crash");
  ASSERT_TRUE(crash) << "no reply to POST /api/v1/_crash";
  ASSERT_EQ(crash->status, 200);
  child_process load{{ACTS_LOAD_BINARY, "--url", "http://127.0.0.1:" + std::to_string(server.port()), "--images",
                      "2"},
                     {},
                     dir.file("load.log")};
  auto status = load.wait_exit(std::chrono::seconds(30));
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 1);
  EXPECT_NE(load.output().find("result: FAILED"), std::string::npos) << load.output();
}

TEST(acts_load, refuses_urls_that_are_not_loopback) {
  temp_dir dir;
  for (const char* url : {"http://10.0.0.1:8080", "https://127.0.0.1:8080", "http://127.0.0.1.example.com",
                          "http://localhost:80/path"}) {
    child_process load{{ACTS_LOAD_BINARY, "--url", url}, {}, dir.file("load.log")};
    auto status = load.wait_exit(std::chrono::seconds(5));
    ASSERT_TRUE(status);
    EXPECT_EQ(*status, 2) << url;
  }
}

} // namespace
