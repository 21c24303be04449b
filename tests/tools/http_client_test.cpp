// The shared HTTP client's pure parts: percent-encoding and the loopback-only rule.
#include "tools/common/http_client.hpp"

#include <gtest/gtest.h>

namespace {

using corral::http::loopback_base_url;
using corral::http::parse_loopback_endpoint;
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
  EXPECT_EQ(loopback_base_url("http://127.1.2.3:65535"), "http://127.1.2.3:65535");
}

TEST(loopback_base_url, refuses_other_hosts_schemes_paths_and_ports) {
  for (const char* url : {"http://10.0.0.1:8080", "https://127.0.0.1:8080", "http://127.0.0.1.example.com",
                          "http://localhost:80/path", "http://127.0.0.1:", "http://127.0.0.1:1234567",
                          "http://127.0.0.1:80x"})
    EXPECT_FALSE(loopback_base_url(url)) << url;
}

// Regression: the URL check took any one to five digits, so a port that no
// socket can have (0, 99999) passed, where chaos's --proxy refused it.
TEST(loopback_base_url, refuses_ports_outside_1_to_65535) {
  for (const char* url : {"http://127.0.0.1:0", "http://localhost:0/", "http://127.0.0.1:99999",
                          "http://127.0.0.1:65536"})
    EXPECT_FALSE(loopback_base_url(url)) << url;
  EXPECT_TRUE(loopback_base_url("http://127.0.0.1:1"));
}

TEST(parse_loopback_endpoint, needs_a_port_and_a_whole_address) {
  EXPECT_TRUE(parse_loopback_endpoint("127.0.0.1:1"));
  EXPECT_TRUE(parse_loopback_endpoint("127.1.2.3:65535"));
  EXPECT_FALSE(parse_loopback_endpoint("127.0.0.1"));
  EXPECT_FALSE(parse_loopback_endpoint("127.0.0.1:0"));
  EXPECT_FALSE(parse_loopback_endpoint("127.0.0.1:65536"));
  EXPECT_FALSE(parse_loopback_endpoint("127.0.0.1:80x"));
  EXPECT_FALSE(parse_loopback_endpoint("127.0.0:80"));
  EXPECT_FALSE(parse_loopback_endpoint("127.0.0.1.:80"));
  EXPECT_FALSE(parse_loopback_endpoint("127.0.0.256:80"));
  EXPECT_FALSE(parse_loopback_endpoint(":80"));
  EXPECT_FALSE(parse_loopback_endpoint("[::1]:80"));
}

TEST(parse_loopback_endpoint, pins_localhost_to_ipv4) {
  auto endpoint = parse_loopback_endpoint("localhost:21001");
  ASSERT_TRUE(endpoint);
  EXPECT_EQ(endpoint->text(), "127.0.0.1:21001");
  EXPECT_EQ(endpoint->url("/status"), "http://127.0.0.1:21001/status");
}

} // namespace
