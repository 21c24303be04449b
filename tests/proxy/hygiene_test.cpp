// Header hygiene and request smuggling (issue 11): raw bytes to the real
// proxy, a test backend behind it. Each case is either refused before it
// reaches the backend, or forwarded normalised (framed by its length, no
// Transfer-Encoding, no trailer turned into a header), as documented in
// docs/ARCHITECTURE.md ("The hot path").
#include "proxy/http_rules.hpp"
#include "tests/proxy/support.hpp"

#include <boost/beast/http/fields.hpp>
#include <gtest/gtest.h>

#include <optional>

using namespace corral;
using namespace corral::test;

namespace {

class hygiene_test : public ::testing::Test {
protected:
  hygiene_test() {
    balancer.set_ports({backend.port()});
    server.emplace(test_settings(), balancer.factory());
    server->start();
  }

  /// Sends `raw` on a fresh connection and reads one answer.
  client_response exchange(const std::string& raw) {
    test_client client{server->port()};
    EXPECT_TRUE(client.connected());
    EXPECT_TRUE(client.write_raw(raw));
    return client.read_response(3s);
  }

  test_backend backend;
  fake_balancer balancer;
  std::optional<proxy_server> server;
};

struct refused_case {
  const char* name;
  const char* raw;
  unsigned status;
};

// clang-format off
const refused_case refused_cases[] = {
  {"CL and TE together",
   "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
  {"TE and CL together, TE first",
   "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n", 400},
  {"two different Content-Lengths",
   "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
  {"two equal Content-Lengths",
   "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400},
  {"TE not ending with chunked",
   "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc", 400},
  {"TE chunked then gzip",
   "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400},
  {"TE chunked twice",
   "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400},
  {"TE xchunked",
   "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400},
  {"chunk size overflow",
   "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nabc\r\n0\r\n\r\n", 400},
  {"chunk size not hex",
   "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400},
  {"Content-Length among the trailers",
   "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nContent-Length: 1\r\n\r\n", 400},
  {"bare LF line ends",
   "GET / HTTP/1.1\nHost: x\n\n", 400},
  {"HTTP/1.1 without Host",
   "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400},
  {"two Host fields",
   "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
  {"Connection naming Host",
   "GET / HTTP/1.1\r\nHost: x\r\nConnection: host\r\n\r\n", 400},
  {"Connection naming Content-Length",
   "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: content-length\r\n\r\nabc", 400},
  {"TRACE",
   "TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", 405},
  {"CONNECT",
   "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501},
  {"space before the colon",
   "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
};
// clang-format on

} // namespace

TEST_F(hygiene_test, every_smuggling_case_is_refused_before_the_backend) {
  for (auto& c : refused_cases) {
    auto answer = exchange(c.raw);
    EXPECT_TRUE(answer.ok) << c.name << ": " << answer.error;
    EXPECT_EQ(answer.status, c.status) << c.name;
  }
  EXPECT_EQ(backend.requests(), 0u) << "a refused request reached the backend";
}

TEST_F(hygiene_test, a_chunked_request_is_forwarded_framed_by_its_length_without_its_trailers) {
  auto answer = exchange("POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n"
                         "3\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: smuggled\r\nHost: evil\r\n\r\n");
  ASSERT_TRUE(answer.ok) << answer.error;
  EXPECT_EQ(answer.status, 200u) << answer.body;
  ASSERT_EQ(backend.requests(), 1u);
  auto seen = backend.seen().front();
  EXPECT_EQ(seen.body, "abcde");
  EXPECT_EQ(find_header(seen.headers, "Content-Length"), "5");
  EXPECT_EQ(count_header(seen.headers, "Content-Length"), 1u);
  EXPECT_FALSE(find_header(seen.headers, "Transfer-Encoding"));
  EXPECT_FALSE(find_header(seen.headers, "X-Trailer"));
  EXPECT_EQ(count_header(seen.headers, "Host"), 1u);
  EXPECT_EQ(find_header(seen.headers, "Host"), "x");
}

// RFC 9112 §5.2 lets a server replace an obs-fold with spaces instead of
// refusing it; the parser does, so the backend sees one plain line.
TEST_F(hygiene_test, an_obs_fold_reaches_the_backend_as_one_line) {
  auto answer = exchange("GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n");
  ASSERT_TRUE(answer.ok) << answer.error;
  EXPECT_EQ(answer.status, 200u);
  ASSERT_EQ(backend.requests(), 1u);
  EXPECT_EQ(find_header(backend.seen().front().headers, "X-Folded"), "a b");
}

TEST_F(hygiene_test, an_http_1_0_request_needs_no_host_and_errors_answer_in_its_version) {
  auto fine = exchange("GET / HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(fine.ok) << fine.error;
  EXPECT_EQ(fine.status, 200u);
  auto refused = exchange("TRACE / HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(refused.ok) << refused.error;
  EXPECT_EQ(refused.status, 405u);
  EXPECT_EQ(refused.version, 10u);
}

// -- the pure rules ------------------------------------------------------------------------

namespace http = boost::beast::http;

TEST(refuse_request, names_each_rule) {
  http::fields f;
  EXPECT_EQ(refuse_request(f, http::verb::get, 11)->status, 400u);
  EXPECT_FALSE(refuse_request(f, http::verb::get, 10));
  f.set(http::field::host, "x");
  EXPECT_FALSE(refuse_request(f, http::verb::get, 11));
  EXPECT_EQ(refuse_request(f, http::verb::trace, 11)->status, 405u);
  EXPECT_EQ(refuse_request(f, http::verb::connect, 11)->status, 501u);
  f.set(http::field::transfer_encoding, "gzip, chunked");
  EXPECT_FALSE(refuse_request(f, http::verb::post, 11));
  f.set(http::field::content_length, "3");
  EXPECT_EQ(refuse_request(f, http::verb::post, 11)->status, 400u);
}

TEST(set_forwarding_fields, overwrites_untrusted_and_appends_trusted) {
  http::fields f;
  f.set(http::field::host, "h");
  f.set("X-Forwarded-For", "1.2.3.4");
  auto trusted = f;
  set_forwarding_fields(f, "127.0.0.1", false);
  EXPECT_EQ(f["X-Forwarded-For"], "127.0.0.1");
  EXPECT_EQ(f["X-Forwarded-Host"], "h");
  set_forwarding_fields(trusted, "127.0.0.1", true);
  EXPECT_EQ(trusted["X-Forwarded-For"], "1.2.3.4, 127.0.0.1");
}
