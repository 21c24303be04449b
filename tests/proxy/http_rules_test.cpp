// The proxy's pure HTTP rules: hop-by-hop fields, X-Forwarded-For, retries.
#include "proxy/http_rules.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace corral {
namespace {

namespace http = boost::beast::http;
using http::verb;

std::vector<std::string> names(const http::fields& fields) {
  std::vector<std::string> out;
  for (auto& f : fields)
    out.emplace_back(f.name_string());
  return out;
}

// -- hop-by-hop fields ---------------------------------------------------------

TEST(http_rules, every_listed_hop_by_hop_field_is_dropped) {
  http::fields f;
  f.set("Connection", "keep-alive");
  f.set("Keep-Alive", "timeout=5");
  f.set("Proxy-Connection", "keep-alive");
  f.set("TE", "trailers");
  f.set("Trailer", "Expires");
  f.set("Transfer-Encoding", "chunked");
  f.set("Upgrade", "websocket");
  f.set("Proxy-Authenticate", "Basic");
  f.set("Proxy-Authorization", "Basic Zm9vOmJhcg==");
  f.set("Host", "example.org");
  f.set("Content-Type", "text/plain");
  strip_hop_by_hop(f);
  EXPECT_EQ(names(f), (std::vector<std::string>{"Host", "Content-Type"}));
}

TEST(http_rules, connection_listed_tokens_are_dropped) {
  http::fields f;
  f.set("Connection", "close, X-Secret , x-other");
  f.set("X-Secret", "1");
  f.set("X-Other", "2");
  f.set("X-Kept", "3");
  strip_hop_by_hop(f);
  EXPECT_EQ(names(f), (std::vector<std::string>{"X-Kept"}));
}

TEST(http_rules, tokens_of_several_connection_lines_are_dropped) {
  http::fields f;
  f.insert("Connection", "X-A");
  f.insert("Connection", "X-B");
  f.set("X-A", "1");
  f.set("X-B", "2");
  f.set("X-C", "3");
  strip_hop_by_hop(f);
  EXPECT_EQ(names(f), (std::vector<std::string>{"X-C"}));
}

TEST(http_rules, repeated_hop_by_hop_fields_are_all_dropped) {
  http::fields f;
  f.insert("Transfer-Encoding", "gzip");
  f.insert("Transfer-Encoding", "chunked");
  f.insert("Upgrade", "h2c");
  f.insert("Upgrade", "websocket");
  strip_hop_by_hop(f);
  EXPECT_TRUE(names(f).empty());
}

TEST(http_rules, a_connection_token_naming_connection_is_harmless) {
  http::fields f;
  f.set("Connection", "connection, X-A");
  f.set("X-A", "1");
  f.set("X-B", "2");
  strip_hop_by_hop(f);
  EXPECT_EQ(names(f), (std::vector<std::string>{"X-B"}));
}

TEST(http_rules, end_to_end_fields_stay_untouched) {
  http::fields f;
  f.set("Content-Length", "12");
  f.set("Cache-Control", "no-cache");
  f.set("Authorization", "Bearer x");
  f.set("Set-Cookie", "a=b");
  strip_hop_by_hop(f);
  EXPECT_EQ(f["Content-Length"], "12");
  EXPECT_EQ(f["Authorization"], "Bearer x");
  EXPECT_EQ(names(f).size(), 4u);
}

// -- X-Forwarded-For -------------------------------------------------------------

TEST(http_rules, forwarded_for_is_added_when_missing) {
  http::fields f;
  append_forwarded_for(f, "127.0.0.1");
  EXPECT_EQ(f["X-Forwarded-For"], "127.0.0.1");
}

TEST(http_rules, forwarded_for_keeps_an_existing_list) {
  http::fields f;
  f.set("X-Forwarded-For", "203.0.113.7, 10.0.0.1");
  append_forwarded_for(f, "127.0.0.1");
  EXPECT_EQ(f["X-Forwarded-For"], "203.0.113.7, 10.0.0.1, 127.0.0.1");
}

TEST(http_rules, several_forwarded_for_lines_fold_into_one) {
  http::fields f;
  f.insert("x-forwarded-for", "203.0.113.7");
  f.insert("X-Forwarded-For", "10.0.0.1");
  append_forwarded_for(f, "127.0.0.1");
  EXPECT_EQ(f.count("X-Forwarded-For"), 1u);
  EXPECT_EQ(f["X-Forwarded-For"], "203.0.113.7, 10.0.0.1, 127.0.0.1");
}

// -- the retry rule --------------------------------------------------------------

struct retry_case {
  verb method;
  failure_point point;
  bool retried;
};

// The whole matrix at the first failure, with retries left.
TEST(http_rules, retry_matrix_per_method_and_failure_point) {
  using fp = failure_point;
  const std::vector<retry_case> cases{
    // Idempotent methods: retried whenever the backend cannot have answered.
    {verb::get, fp::connect_failed, true},
    {verb::get, fp::connection_broke_before_response, true},
    {verb::get, fp::response_started, false},
    {verb::get, fp::timeout, false},
    {verb::head, fp::connect_failed, true},
    {verb::head, fp::connection_broke_before_response, true},
    {verb::head, fp::response_started, false},
    {verb::head, fp::timeout, false},
    {verb::options, fp::connect_failed, true},
    {verb::options, fp::connection_broke_before_response, true},
    {verb::options, fp::response_started, false},
    {verb::options, fp::timeout, false},
    {verb::put, fp::connect_failed, true},
    {verb::put, fp::connection_broke_before_response, true},
    {verb::put, fp::response_started, false},
    {verb::put, fp::timeout, false},
    {verb::delete_, fp::connect_failed, true},
    {verb::delete_, fp::connection_broke_before_response, true},
    {verb::delete_, fp::response_started, false},
    {verb::delete_, fp::timeout, false},
    // Not idempotent: only a request that was never sent goes elsewhere.
    {verb::post, fp::connect_failed, true},
    {verb::post, fp::connection_broke_before_response, false},
    {verb::post, fp::response_started, false},
    {verb::post, fp::timeout, false},
    {verb::patch, fp::connect_failed, true},
    {verb::patch, fp::connection_broke_before_response, false},
    {verb::patch, fp::response_started, false},
    {verb::patch, fp::timeout, false},
  };
  for (auto& c : cases)
    EXPECT_EQ(may_retry(c.method, c.point, 1, 2), c.retried)
      << http::to_string(c.method) << " after " << to_string(c.point);
}

TEST(http_rules, retries_stop_after_max_retries) {
  using fp = failure_point;
  // retries = 2: attempts 1 and 2 may fail and move on, attempt 3 is last.
  EXPECT_TRUE(may_retry(verb::get, fp::connect_failed, 1, 2));
  EXPECT_TRUE(may_retry(verb::get, fp::connect_failed, 2, 2));
  EXPECT_FALSE(may_retry(verb::get, fp::connect_failed, 3, 2));
  EXPECT_TRUE(may_retry(verb::post, fp::connect_failed, 2, 2));
  EXPECT_FALSE(may_retry(verb::post, fp::connect_failed, 3, 2));
}

TEST(http_rules, zero_retries_never_retries) {
  EXPECT_FALSE(may_retry(verb::get, failure_point::connect_failed, 1, 0));
  EXPECT_FALSE(may_retry(verb::get,
                         failure_point::connection_broke_before_response, 1,
                         0));
}

TEST(http_rules, unknown_and_other_methods_are_treated_like_post) {
  using fp = failure_point;
  for (auto m : {verb::connect, verb::unknown, verb::merge, verb::lock}) {
    EXPECT_TRUE(may_retry(m, fp::connect_failed, 1, 2));
    EXPECT_FALSE(may_retry(m, fp::connection_broke_before_response, 1, 2));
  }
}

TEST(http_rules, trace_is_idempotent) {
  EXPECT_TRUE(is_idempotent(verb::trace));
  EXPECT_FALSE(is_idempotent(verb::post));
  EXPECT_FALSE(is_idempotent(verb::patch));
}

TEST(http_rules, only_unreachable_backends_are_reported_failed) {
  using fp = failure_point;
  for (bool pooled : {false, true}) {
    EXPECT_TRUE(backend_unreachable(fp::connect_failed, pooled));
    EXPECT_FALSE(backend_unreachable(fp::response_started, pooled));
    EXPECT_FALSE(backend_unreachable(fp::timeout, pooled));
  }
  EXPECT_TRUE(backend_unreachable(fp::connection_broke_before_response, false));
}

// A pooled connection may break because the backend closed it while idle:
// that must not throw a healthy backend out of the rotation.
TEST(http_rules, a_broken_pooled_connection_is_not_proof_of_a_dead_backend) {
  EXPECT_FALSE(
    backend_unreachable(failure_point::connection_broke_before_response, true));
}

TEST(http_rules, a_timeout_answers_504_everything_else_502) {
  EXPECT_EQ(status_for(failure_point::timeout), 504u);
  EXPECT_EQ(status_for(failure_point::connect_failed), 502u);
  EXPECT_EQ(status_for(failure_point::connection_broke_before_response),
            502u);
  EXPECT_EQ(status_for(failure_point::response_started), 502u);
}

// -- heads on the wire ---------------------------------------------------------------

TEST(wire_heads, a_request_head_has_its_line_its_fields_in_order_and_a_blank_line) {
  http::fields f;
  f.insert("Host", "example.test");
  f.insert("X-Two", "a");
  f.insert("X-Two", "b");
  f.insert("Content-Length", "5");
  std::string out = "kept:";
  append_request_head(out, "PATCH", "/items/7?x=1", f);
  EXPECT_EQ(out, "kept:PATCH /items/7?x=1 HTTP/1.1\r\nHost: example.test\r\nX-Two: a\r\n"
                 "X-Two: b\r\nContent-Length: 5\r\n\r\n");
}

TEST(wire_heads, a_response_head_says_its_version_status_and_reason) {
  http::fields f;
  f.insert("Content-Length", "0");
  std::string out;
  append_response_head(out, 11, 404, "Not Found", f);
  EXPECT_EQ(out, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  out.clear();
  append_response_head(out, 10, 200, "OK", http::fields{});
  EXPECT_EQ(out, "HTTP/1.0 200 OK\r\n\r\n");
  out.clear();
  append_response_head(out, 11, 599, "", http::fields{});
  EXPECT_EQ(out, "HTTP/1.1 599 \r\n\r\n");
}

TEST(wire_heads, chunk_sizes_are_lowercase_hex) {
  std::string out;
  append_chunk_size(out, 0);
  append_chunk_size(out, 10);
  append_chunk_size(out, 16384);
  append_chunk_size(out, 0xabcdef12);
  EXPECT_EQ(out, "0\r\na\r\n4000\r\nabcdef12\r\n");
}

} // namespace
} // namespace corral
