// The shared HTTP client's pure parts: percent-encoding and the loopback-only URL check.
#include "tools/common/http_client.hpp"

#include <gtest/gtest.h>

namespace {

using corral::http::loopback_base_url;
using corral::http::percent_encode;

TEST(percent_encode, keeps_unreserved_characters_and_encodes_the_rest) {
  EXPECT_EQ(percent_encode("acts-load_1.x~"), "acts-load_1.x~");
  EXPECT_EQ(percent_encode("a b/c?d&e%"), "a%20b%2Fc%3Fd%26e%25");
  EXPECT_EQ(percent_encode(""), "");
}

TEST(percent_encode, encodes_each_byte_of_utf8_in_upper_case_hex) {
  EXPECT_EQ(percent_encode("K\xC3\xA4se"), "K%C3%A4se");
}

TEST(loopback_base_url, accepts_loopback_hosts_and_drops_a_trailing_slash) {
  EXPECT_EQ(loopback_base_url("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
  EXPECT_EQ(loopback_base_url("http://localhost:80/"), "http://localhost:80");
  EXPECT_EQ(loopback_base_url("http://127.0.0.1"), "http://127.0.0.1");
}

TEST(loopback_base_url, refuses_other_hosts_schemes_paths_and_ports) {
  for (const char* url : {"http://10.0.0.1:8080", "https://127.0.0.1:8080", "http://127.0.0.1.example.com",
                          "http://localhost:80/path", "http://127.0.0.1:", "http://127.0.0.1:1234567",
                          "http://127.0.0.1:80x"})
    EXPECT_FALSE(loopback_base_url(url)) << url;
}

} // namespace
