// Tests of the real acts binary over real HTTP on loopback: health, crash, count, keep-alive, limits, signals.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "tests/acts/child_process.hpp"
#include "tests/acts/raw_http.hpp"
#include "tests/acts/temp_dir.hpp"

namespace {

using namespace acts_test;

class acts_server_test : public ::testing::Test {
protected:
  temp_dir dir;
  acts_server server{dir.file("acts.db"), dir.file("acts.log")};

  http_reply call(std::string_view method, std::string_view target, std::string_view body = {}) {
    auto reply = http_call(server.port(), method, target, body);
    if (!reply)
      throw std::runtime_error("no reply to " + std::string{method} + " " + std::string{target});
    return *reply;
  }
};

TEST_F(acts_server_test, health_is_200_over_http) {
  auto reply = call("GET", "/api/v1/_health");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, R"({"status":"ok"})");
  EXPECT_EQ(reply.header("content-type"), "application/json");
}

TEST_F(acts_server_test, start_is_logged_in_one_line) {
  // The port accepts connections a moment before the line is written (the
  // ASan build showed it): wait for the line, with a deadline.
  auto line = " acts             listening url=http://127.0.0.1:" + std::to_string(server.port()) + " ";
  EXPECT_TRUE(eventually([&] { return server.process().output().find(line) != std::string::npos; }, 5s))
    << server.process().output();
}

TEST_F(acts_server_test, crash_turns_every_answer_into_500_while_the_process_runs) {
  EXPECT_EQ(call("POST", "/api/v1/_crash").status, 200);
  EXPECT_EQ(call("GET", "/api/v1/_health").status, 500);
  EXPECT_EQ(call("GET", "/api/v1/_count").status, 500);
  EXPECT_EQ(call("GET", "/api/v1/categories").status, 500);
  EXPECT_TRUE(server.process().running());
}

TEST_F(acts_server_test, count_excludes_health_and_count_requests) {
  call("GET", "/api/v1/_health");
  call("GET", "/api/v1/users");
  call("GET", "/nowhere");
  call("GET", "/api/v1/_count");
  EXPECT_EQ(call("GET", "/api/v1/_count").body, "[2]");
  EXPECT_EQ(call("DELETE", "/api/v1/_count").status, 200);
  EXPECT_EQ(call("GET", "/api/v1/_count").body, "[0]");
}

TEST_F(acts_server_test, keep_alive_serves_several_requests_on_one_connection) {
  http_connection connection{server.port()};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(connection.send(request_text("GET", "/api/v1/_health")));
    auto reply = connection.read_reply();
    ASSERT_TRUE(reply) << "request " << i;
    EXPECT_EQ(reply->status, 200);
  }
  // Two pipelined requests in one write are answered in order.
  ASSERT_TRUE(connection.send(request_text("GET", "/api/v1/users") + request_text("GET", "/api/v1/_count")));
  auto first = connection.read_reply();
  auto second = connection.read_reply();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->status, 204);
  EXPECT_EQ(second->body, "[1]");
  EXPECT_FALSE(connection.closed_by_peer(std::chrono::milliseconds(200)));
}

TEST_F(acts_server_test, connection_close_and_http_1_0_end_the_connection) {
  http_connection closing{server.port()};
  ASSERT_TRUE(closing.send(request_text("GET", "/api/v1/_health", {}, "Connection: close\r\n")));
  ASSERT_TRUE(closing.read_reply());
  EXPECT_TRUE(closing.closed_by_peer());

  http_connection old{server.port()};
  ASSERT_TRUE(old.send("GET /api/v1/_health HTTP/1.0\r\n\r\n"));
  auto reply = old.read_reply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_TRUE(old.closed_by_peer());
}

TEST_F(acts_server_test, wrong_method_is_405_with_an_allow_header) {
  auto reply = call("PATCH", "/api/v1/users");
  EXPECT_EQ(reply.status, 405);
  EXPECT_EQ(reply.header("allow"), "GET, POST");
}

TEST_F(acts_server_test, empty_lists_are_204_without_a_body) {
  auto reply = call("GET", "/api/v1/categories");
  EXPECT_EQ(reply.status, 204);
  EXPECT_TRUE(reply.body.empty());
}

TEST_F(acts_server_test, root_is_the_html_page) {
  auto reply = call("GET", "/");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(reply.body.find("<html"), std::string::npos);
}

TEST_F(acts_server_test, body_over_16_mib_is_413_and_the_process_survives) {
  http_connection connection{server.port()};
  std::string body(20 * 1024 * 1024, 'x');
  ASSERT_TRUE(connection.send("POST /api/v1/acts HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size())
                              + "\r\n\r\n"));
  // The server answers as soon as it sees the length, and reads (and drops)
  // the rest so that closing does not reset the connection under the answer.
  connection.send(body);
  auto reply = connection.read_reply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 413);
  EXPECT_EQ(call("GET", "/api/v1/_health").status, 200);
  EXPECT_TRUE(server.process().running());
}

TEST_F(acts_server_test, chunked_body_over_16_mib_is_413) {
  http_connection connection{server.port()};
  ASSERT_TRUE(connection.send("POST /api/v1/acts HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  std::string chunk = "100000\r\n" + std::string(0x100000, 'y') + "\r\n";
  for (int i = 0; i < 17 && connection.send(chunk); ++i) {
  }
  auto reply = connection.read_reply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 413);
  EXPECT_EQ(call("GET", "/api/v1/_health").status, 200);
}

TEST_F(acts_server_test, header_over_8_kib_is_431) {
  http_connection connection{server.port()};
  ASSERT_TRUE(connection.send(request_text("GET", "/api/v1/_health", {}, "X-Padding: " + std::string(9000, 'p') + "\r\n")));
  auto reply = connection.read_reply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 431);
  EXPECT_EQ(call("GET", "/api/v1/_health").status, 200);
}

TEST_F(acts_server_test, garbage_bytes_are_400_and_the_process_survives) {
  for (std::string_view garbage : {std::string_view{"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 16},
                                   std::string_view{"HELLO THERE\r\n\r\n"},
                                   std::string_view{"GET / HTTP/9.9\r\n\r\n"},
                                   std::string_view{"GET / HTTP/1.1\r\nContent-Length: -5\r\n\r\n"},
                                   std::string_view{"GET / HTTP/1.1\r\nBad Header\r\n\r\n"}}) {
    http_connection connection{server.port()};
    ASSERT_TRUE(connection.send(garbage));
    auto reply = connection.read_reply();
    ASSERT_TRUE(reply) << garbage;
    EXPECT_EQ(reply->status, 400) << garbage;
    EXPECT_TRUE(connection.closed_by_peer());
  }
  EXPECT_EQ(call("GET", "/api/v1/_health").status, 200);
  EXPECT_TRUE(server.process().running());
}

TEST_F(acts_server_test, client_vanishing_mid_request_harms_nothing) {
  {
    http_connection connection{server.port()};
    ASSERT_TRUE(connection.send("POST /api/v1/acts HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"act"));
  }
  EXPECT_EQ(call("GET", "/api/v1/_health").status, 200);
}

TEST_F(acts_server_test, expect_100_continue_gets_a_go_ahead_before_the_body) {
  http_connection connection{server.port()};
  std::string body = R"(["cats"])";
  ASSERT_TRUE(connection.send("POST /api/v1/categories HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: "
                              + std::to_string(body.size()) + "\r\n\r\n"));
  auto go_ahead = connection.read_reply();
  ASSERT_TRUE(go_ahead);
  EXPECT_EQ(go_ahead->status, 100);
  ASSERT_TRUE(connection.send(body));
  auto reply = connection.read_reply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 201);
}

TEST_F(acts_server_test, sigterm_exits_0_within_a_second) {
  // An open idle connection must not hold the shutdown up.
  http_connection idle{server.port()};
  server.process().signal(SIGTERM);
  auto status = server.process().wait_exit(std::chrono::seconds(1));
  ASSERT_TRUE(status) << "still running 1 s after SIGTERM";
  EXPECT_EQ(*status, 0);
}

TEST_F(acts_server_test, sigint_exits_0_within_a_second) {
  server.process().signal(SIGINT);
  auto status = server.process().wait_exit(std::chrono::seconds(1));
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
}

// scripts/build-images puts the binary alone into a FROM-scratch image: it
// must not need a dynamic loader (an ELF PT_INTERP program header).
TEST(acts_binary, is_statically_linked) {
#ifdef ACTS_LINKED_DYNAMICALLY
  GTEST_SKIP() << "a sanitizer build links acts dynamically (and builds no image)";
#endif
  std::ifstream in{ACTS_BINARY, std::ios::binary};
  std::string elf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(elf.size(), 64u);
  ASSERT_EQ(elf.substr(0, 4), "\x7f" "ELF");
  ASSERT_EQ(elf[4], 2) << "expected a 64-bit ELF";
  auto read = [&](std::size_t at, std::size_t bytes) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < bytes; ++i)
      value |= std::uint64_t{static_cast<unsigned char>(elf[at + i])} << (8 * i);
    return value;
  };
  auto program_headers = read(32, 8);
  auto entry_size = read(54, 2);
  auto entries = read(56, 2);
  constexpr std::uint64_t pt_interp = 3;
  for (std::uint64_t i = 0; i < entries; ++i)
    EXPECT_NE(read(program_headers + i * entry_size, 4), pt_interp) << "acts asks for a dynamic loader";
}

// The pool's containers share one database file: a write through one is
// visible through another at once.
TEST(acts_server_pool, two_processes_on_one_database_see_each_others_writes) {
  temp_dir dir;
  acts_server first{dir.file("shared.db"), dir.file("first.log")};
  acts_server second{dir.file("shared.db"), dir.file("second.log")};
  auto created = http_call(first.port(), "POST", "/api/v1/categories", R"(["cats"])");
  ASSERT_TRUE(created) << "no reply from the first process";
  ASSERT_EQ(created->status, 201);
  auto again = http_call(second.port(), "POST", "/api/v1/categories", R"(["cats"])");
  ASSERT_TRUE(again) << "no reply from the second process";
  EXPECT_EQ(again->status, 400);
  auto listed = http_call(second.port(), "GET", "/api/v1/categories");
  ASSERT_TRUE(listed) << "no reply from the second process";
  EXPECT_EQ(listed->body, R"({"cats":0})");
}

TEST(acts_server_start, unusable_database_path_exits_1_with_a_message) {
  temp_dir dir;
  child_process acts{{ACTS_BINARY}, {"PORT=" + std::to_string(free_port()), "ACTS_DB=/nonexistent/dir/acts.db"},
                     dir.file("acts.log")};
  auto status = acts.wait_exit(std::chrono::seconds(5));
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 1);
  EXPECT_NE(acts.output().find("cannot open the database /nonexistent/dir/acts.db"), std::string::npos);
}

TEST(acts_server_start, bad_port_exits_2) {
  temp_dir dir;
  child_process acts{{ACTS_BINARY}, {"PORT=http", "ACTS_DB=" + dir.file("acts.db")}, dir.file("acts.log")};
  auto status = acts.wait_exit(std::chrono::seconds(5));
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 2);
}

} // namespace
