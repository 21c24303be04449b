// The logger: text and JSON lines as docs/OBSERVABILITY.md shows them,
// hostile values escaped, the level filter, and whole lines from many threads.
#include "log/log.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <fcntl.h>
#include <limits>
#include <regex>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace corral; // log:: (an alias named log would clash with ::log of <cmath>)
namespace json = boost::json;

namespace {

/// Points stderr (fd 2) at an unlinked temp file opened for appending, as
/// long as it lives; text() reads what was written.
class stderr_to_file {
public:
  stderr_to_file() {
    char path[] = "/tmp/corral-log-test-XXXXXX";
    file_ = ::mkostemp(path, O_APPEND);
    ::unlink(path);
    saved_ = ::dup(STDERR_FILENO);
    ::dup2(file_, STDERR_FILENO);
  }
  ~stderr_to_file() {
    restore();
    ::close(file_);
  }
  stderr_to_file(const stderr_to_file&) = delete;
  stderr_to_file& operator=(const stderr_to_file&) = delete;

  /// Everything written so far; stderr is restored first.
  std::string text() {
    restore();
    std::string all;
    char chunk[4096];
    for (off_t at = 0;;) {
      auto n = ::pread(file_, chunk, sizeof(chunk), at);
      if (n <= 0)
        break;
      all.append(chunk, static_cast<size_t>(n));
      at += n;
    }
    return all;
  }

private:
  void restore() {
    if (saved_ < 0)
      return;
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    saved_ = -1;
  }

  int file_ = -1;
  int saved_ = -1;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) {
      lines.push_back(text.substr(start)); // unterminated: a broken line
      break;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

/// The one line `write_lines` logs, without its timestamp (checked apart).
template <class Write>
std::string one_line(Write write_lines) {
  stderr_to_file capture;
  write_lines();
  auto text = capture.text();
  auto lines = lines_of(text);
  EXPECT_EQ(lines.size(), 1u) << text;
  EXPECT_EQ(text.back(), '\n') << text;
  return lines.empty() ? std::string{} : lines[0];
}

const std::regex text_timestamp{R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z )"};

/// A text line with its timestamp checked and cut off.
std::string without_timestamp(const std::string& line) {
  EXPECT_TRUE(std::regex_search(line, text_timestamp)) << line;
  return line.size() > 25 ? line.substr(25) : line;
}

json::object parse_object(const std::string& line) {
  json::error_code ec;
  auto value = json::parse(line, ec);
  EXPECT_FALSE(ec) << ec.message() << ": " << line;
  if (ec || !value.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << line;
    return {};
  }
  return value.as_object();
}

class log_test : public ::testing::Test {
protected:
  void SetUp() override {
    log::set_level(log::level::info);
    log::set_format(log::format::text);
  }
  void TearDown() override {
    log::set_level(log::level::info);
    log::set_format(log::format::text);
  }
};

} // namespace

// -- text ---------------------------------------------------------------------------

TEST_F(log_test, text_line_is_timestamp_level_component_message_and_fields) {
  auto line = one_line([] {
    log::info("supervisor", "ready",
              {{"port", uint16_t{8000}}, {"container", "3f2a9c0d1e2b"}, {"took_ms", 120}});
  });
  EXPECT_EQ(without_timestamp(line),
            "info  supervisor       ready port=8000 container=3f2a9c0d1e2b took_ms=120");
}

TEST_F(log_test, text_timestamp_is_utc_now_to_the_millisecond) {
  // The log's own clock: std::time() reads a coarse clock that may still be
  // in the last second when the log's stamp is already in the next.
  auto seconds_now = [] {
    return std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  };
  auto before = seconds_now();
  auto line = one_line([] { log::info("corral", "stopped"); });
  auto after = seconds_now();
  std::tm utc{};
  ASSERT_NE(::strptime(line.c_str(), "%Y-%m-%dT%H:%M:%S", &utc), nullptr) << line;
  auto stamped = ::timegm(&utc);
  EXPECT_GE(stamped, before) << line;
  EXPECT_LE(stamped, after) << line;
  EXPECT_EQ(line.substr(19, 1), ".");
  EXPECT_EQ(line.substr(23, 2), "Z ");
}

TEST_F(log_test, container_source_shows_its_port_in_the_component_column) {
  auto line = one_line([] {
    log::warn(log::source{"container", 8001}, "stop failed", {{"error", "connection refused"}});
  });
  EXPECT_EQ(without_timestamp(line), "warn  container:8001   stop failed error=\"connection refused\"");
}

TEST_F(log_test, text_columns_line_up_for_every_level_and_role) {
  for (auto role : {"scaler", "health_checker", "corral"}) {
    auto error = one_line([&] { log::error(role, "m"); });
    auto info = one_line([&] { log::info(role, "m"); });
    EXPECT_EQ(error.find(" m"), info.find(" m")) << error << "\n" << info;
    EXPECT_EQ(error.find(" m"), size_t{24 + 1 + 5 + 1 + 16}) << error;
  }
}

TEST_F(log_test, text_writes_numbers_bools_and_strings_by_kind) {
  std::string owned = "acts-8000";
  std::string_view view = "v";
  auto line = one_line([&] {
    log::info("scaler", "m",
              {{"negative", -3},
               {"big", std::numeric_limits<uint64_t>::max()},
               {"ratio", 0.25},
               {"t", 12.345},
               {"yes", true},
               {"no", false},
               {"owned", owned},
               {"view", view},
               {"empty", ""}});
  });
  EXPECT_EQ(without_timestamp(line),
            "info  scaler           m negative=-3 big=18446744073709551615 ratio=0.25 t=12.345 "
            "yes=true no=false owned=acts-8000 view=v empty=\"\"");
}

TEST_F(log_test, text_quotes_and_escapes_hostile_values) {
  auto line = one_line([] {
    log::warn("admin", "handler threw",
              {{"quote", "say \"hi\""},
               {"newline", "a\nb\r\tc"},
               {"equals", "a=b"},
               {"backslash", "C:\\dir"},
               {"control", std::string_view{"\x01\x1b[31m\x7f", 7}},
               {"invalid", "\xff\xc0\x80ok\xed\xa0\x80"},
               {"utf8", "gr\xc3\xb6\xc3\x9f" "e \xe2\x82\xac"},
               {"plain_utf8", "\xc3\xa9t\xc3\xa9"}});
  });
  EXPECT_EQ(without_timestamp(line),
            R"(warn  admin            handler threw quote="say \"hi\"" newline="a\nb\r\tc" )"
            R"(equals="a=b" backslash="C:\\dir" control="\x01\x1b[31m\x7f" )"
            R"(invalid="\xff\xc0\x80ok\xed\xa0\x80" utf8="größe €" plain_utf8=été)");
}

TEST_F(log_test, text_message_and_key_cannot_break_the_line) {
  auto line = one_line([] { log::info("corral", "two\nlines", {{"k\ney", 1}}); });
  EXPECT_EQ(without_timestamp(line), R"(info  corral           two\nlines k\ney=1)");
}

TEST_F(log_test, long_line_is_written_whole) {
  std::string big(10000, 'x');
  auto line = one_line([&] { log::info("acts", "big", {{"body", big}}); });
  EXPECT_EQ(without_timestamp(line), "info  acts             big body=" + big);
}

// -- JSON ---------------------------------------------------------------------------

TEST_F(log_test, json_line_is_one_object_with_every_field) {
  log::set_format(log::format::json);
  auto line = one_line([] {
    log::info("supervisor", "ready",
              {{"port", uint16_t{8000}},
               {"container", "3f2a9c0d1e2b"},
               {"took_ms", 120},
               {"negative", -7},
               {"ratio", 0.5},
               {"ok", true},
               {"big", std::numeric_limits<uint64_t>::max()}});
  });
  // The documented shape, byte for byte after the timestamp.
  auto ts_end = line.find("\",");
  ASSERT_NE(ts_end, std::string::npos) << line;
  EXPECT_EQ(line.substr(ts_end),
            R"(","level":"info","component":"supervisor","msg":"ready","port":8000,)"
            R"("container":"3f2a9c0d1e2b","took_ms":120,"negative":-7,"ratio":0.5,"ok":true,)"
            R"("big":18446744073709551615})");
  auto o = parse_object(line);
  ASSERT_EQ(o.size(), 11u) << line;
  EXPECT_TRUE(std::regex_match(std::string{o.at("ts").as_string()},
                               std::regex{R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"}))
    << line;
  EXPECT_EQ(o.at("level").as_string(), "info");
  EXPECT_EQ(o.at("component").as_string(), "supervisor");
  EXPECT_EQ(o.at("msg").as_string(), "ready");
  EXPECT_EQ(o.at("port").to_number<int64_t>(), 8000);
  EXPECT_EQ(o.at("container").as_string(), "3f2a9c0d1e2b");
  EXPECT_EQ(o.at("took_ms").as_int64(), 120);
  EXPECT_EQ(o.at("negative").as_int64(), -7);
  EXPECT_EQ(o.at("ratio").as_double(), 0.5);
  EXPECT_EQ(o.at("ok").as_bool(), true);
  EXPECT_EQ(o.at("big").as_uint64(), std::numeric_limits<uint64_t>::max());
}

TEST_F(log_test, json_container_source_port_becomes_a_port_field) {
  log::set_format(log::format::json);
  auto line = one_line([] {
    log::warn(log::source{"container", 8001}, "stop failed", {{"error", "connection refused"}});
  });
  auto o = parse_object(line);
  EXPECT_EQ(o.at("level").as_string(), "warn");
  EXPECT_EQ(o.at("component").as_string(), "container");
  EXPECT_EQ(o.at("port").as_int64(), 8001);
  EXPECT_EQ(o.at("msg").as_string(), "stop failed");
  EXPECT_EQ(o.at("error").as_string(), "connection refused");
  EXPECT_EQ(o.size(), 6u) << line;
}

TEST_F(log_test, json_escapes_hostile_values_so_every_line_parses) {
  log::set_format(log::format::json);
  std::string control{"\x00\x01\x08\x0c\x1f\x7f", 6};
  auto line = one_line([&] {
    log::error("admin", "handler \"threw\"\n",
               {{"quote", "say \"hi\""},
                {"newline", "a\nb\r\tc"},
                {"backslash", "C:\\dir\\"},
                {"control", control},
                {"invalid", "\xff\xc0\x80ok\xed\xa0\x80\xf4\x90\x80\x80"},
                {"truncated", "ab\xe2\x82"},
                {"utf8", "gr\xc3\xb6\xc3\x9f" "e \xe2\x82\xac \xf0\x9f\x90\x84"},
                {"key\"with\nstuff", 1},
                {"nan", std::nan("")},
                {"inf", std::numeric_limits<double>::infinity()}});
  });
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto o = parse_object(line);
  EXPECT_EQ(o.at("msg").as_string(), "handler \"threw\"\n");
  EXPECT_EQ(o.at("quote").as_string(), "say \"hi\"");
  EXPECT_EQ(o.at("newline").as_string(), "a\nb\r\tc");
  EXPECT_EQ(o.at("backslash").as_string(), "C:\\dir\\");
  EXPECT_EQ(o.at("control").as_string(), control);
  // Each byte that starts no well-formed sequence becomes U+FFFD.
  const std::string replacement = "\xef\xbf\xbd";
  std::string expected_invalid;
  for (int i = 0; i < 3; ++i)
    expected_invalid += replacement;
  expected_invalid += "ok";
  for (int i = 0; i < 3 + 4; ++i)
    expected_invalid += replacement;
  EXPECT_EQ(o.at("invalid").as_string(), expected_invalid);
  EXPECT_EQ(o.at("truncated").as_string(), "ab" + replacement + replacement);
  EXPECT_EQ(o.at("utf8").as_string(), "gr\xc3\xb6\xc3\x9f" "e \xe2\x82\xac \xf0\x9f\x90\x84");
  EXPECT_EQ(o.at("key\"with\nstuff").as_int64(), 1);
  EXPECT_TRUE(o.at("nan").is_null());
  EXPECT_TRUE(o.at("inf").is_null());
}

// -- levels and formats -----------------------------------------------------------

TEST_F(log_test, level_filter_drops_lines_below_it) {
  stderr_to_file capture;
  log::set_level(log::level::warn);
  EXPECT_FALSE(log::enabled(log::level::debug));
  EXPECT_FALSE(log::enabled(log::level::info));
  EXPECT_TRUE(log::enabled(log::level::warn));
  EXPECT_TRUE(log::enabled(log::level::error));
  log::debug("proxy", "dropped debug");
  log::info("proxy", "dropped info");
  log::warn("proxy", "kept warn");
  log::error("proxy", "kept error");
  log::set_level(log::level::debug);
  EXPECT_TRUE(log::enabled(log::level::debug));
  log::debug("proxy", "kept debug");
  log::set_level(log::level::error);
  log::write(log::level::info, "proxy", "write ignores the level");
  auto lines = lines_of(capture.text());
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_NE(lines[0].find(" warn  proxy            kept warn"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find(" error proxy            kept error"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find(" debug proxy            kept debug"), std::string::npos) << lines[2];
  EXPECT_NE(lines[3].find(" info  proxy            write ignores"), std::string::npos) << lines[3];
}

TEST_F(log_test, parse_level_and_format_take_exactly_the_documented_names) {
  auto lvl = log::level::info;
  EXPECT_TRUE(log::parse_level("debug", lvl));
  EXPECT_EQ(lvl, log::level::debug);
  EXPECT_TRUE(log::parse_level("error", lvl));
  EXPECT_EQ(lvl, log::level::error);
  EXPECT_TRUE(log::parse_level("warn", lvl));
  EXPECT_EQ(lvl, log::level::warn);
  EXPECT_TRUE(log::parse_level("info", lvl));
  EXPECT_EQ(lvl, log::level::info);
  for (auto bad : {"", "INFO", "warning", "trace", "info "})
    EXPECT_FALSE(log::parse_level(bad, lvl)) << bad;
  EXPECT_EQ(lvl, log::level::info);

  auto fmt = log::format::text;
  EXPECT_TRUE(log::parse_format("json", fmt));
  EXPECT_EQ(fmt, log::format::json);
  EXPECT_TRUE(log::parse_format("text", fmt));
  EXPECT_EQ(fmt, log::format::text);
  for (auto bad : {"", "JSON", "logfmt", "text "})
    EXPECT_FALSE(log::parse_format(bad, fmt)) << bad;
  EXPECT_EQ(fmt, log::format::text);
}

TEST_F(log_test, logging_leaves_errno_alone) {
  stderr_to_file capture;
  errno = EAGAIN;
  log::info("corral", "m");
  EXPECT_EQ(errno, EAGAIN);
}

// -- threads ----------------------------------------------------------------------

namespace {

constexpr int writer_threads = 8;
constexpr int lines_per_thread = 400;

/// Several threads log at once; each line carries its thread and sequence
/// number and a long value, so that a torn or merged line shows.
void log_from_threads() {
  std::string filler(300, 'f');
  std::vector<std::thread> threads;
  for (int t = 0; t < writer_threads; ++t)
    threads.emplace_back([t, &filler] {
      for (int i = 0; i < lines_per_thread; ++i)
        log::info(log::source{"container", static_cast<uint16_t>(8000 + t)}, "tick",
                  {{"thread", t}, {"seq", i}, {"filler", filler}});
    });
  for (auto& thread : threads)
    thread.join();
}

/// Every line parses as JSON and each thread's lines are all there, in order.
void expect_whole_lines(const std::string& text) {
  auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), size_t{writer_threads * lines_per_thread});
  std::vector<int64_t> next(writer_threads, 0);
  for (auto& line : lines) {
    json::error_code ec;
    auto value = json::parse(line, ec);
    ASSERT_FALSE(ec) << "a torn line: " << line;
    auto& o = value.as_object();
    auto t = o.at("thread").as_int64();
    ASSERT_GE(t, 0);
    ASSERT_LT(t, writer_threads);
    EXPECT_EQ(o.at("port").as_int64(), 8000 + t);
    EXPECT_EQ(o.at("seq").as_int64(), next[t]++) << line;
    EXPECT_EQ(o.at("filler").as_string().size(), 300u);
  }
}

} // namespace

TEST_F(log_test, lines_from_many_threads_never_interleave_in_a_file) {
  log::set_format(log::format::json);
  stderr_to_file capture;
  log_from_threads();
  expect_whole_lines(capture.text());
}

TEST_F(log_test, lines_from_many_threads_never_interleave_in_a_pipe) {
  log::set_format(log::format::json);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::string received;
  std::thread reader{[&] {
    char chunk[4096];
    for (;;) {
      auto n = ::read(fds[0], chunk, sizeof(chunk));
      if (n <= 0)
        break;
      received.append(chunk, static_cast<size_t>(n));
    }
  }};
  int saved = ::dup(STDERR_FILENO);
  ::dup2(fds[1], STDERR_FILENO);
  ::close(fds[1]);
  log_from_threads();
  ::dup2(saved, STDERR_FILENO); // closes the pipe's last write end: the reader ends
  ::close(saved);
  reader.join();
  ::close(fds[0]);
  expect_whole_lines(received);
}
