// docker_runtime's event stream against a scripted engine on a private unix
// socket: lines split across chunks, a stream the daemon drops, a refusal.
#include "runtime/docker_runtime.hpp"
#include "tests/runtime/printers.hpp"

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <vector>

using namespace corral;
using namespace std::chrono_literals;

namespace {

/// How long any one test may wait for the runtime or the scripted engine: a
/// stream the runtime fails to see end fails the test, it does not hang it.
constexpr auto deadline = 10s;

/// Serves one connection on a fresh unix socket: reads the request head,
/// then writes each piece of `script` with a pause in between (so libcurl
/// sees them as separate reads), then closes. Every wait has a deadline.
class scripted_engine {
public:
  explicit scripted_engine(std::vector<std::string> script)
    : path_("/tmp/corral-stream-test-" + std::to_string(::getpid()) + "-"
            + std::to_string(counter_++) + ".sock"),
      script_(std::move(script)) {
    ::unlink(path_.c_str());
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
        || ::listen(listener_, 4) != 0)
      ADD_FAILURE() << "cannot listen on " << path_ << ": "
                    << std::strerror(errno);
    thread_ = std::thread([this] { serve(); });
  }

  ~scripted_engine() {
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
    ::unlink(path_.c_str());
  }

  const std::string& path() const { return path_; }

  /// The request line the client sent ("GET /v1.41/events?... HTTP/1.1");
  /// "" when the engine did not finish within the deadline.
  std::string request_line() {
    if (done_.wait_for(deadline) != std::future_status::ready) {
      ADD_FAILURE() << "the scripted engine did not finish within " << deadline.count() << " s";
      return {};
    }
    return request_line_;
  }

private:
  void serve() {
    pollfd incoming{listener_, POLLIN, 0};
    int client = -1;
    if (::poll(&incoming, 1, static_cast<int>(deadline / 1ms)) == 1)
      client = ::accept(listener_, nullptr, nullptr);
    if (client >= 0) {
      timeval patience{static_cast<time_t>(deadline.count()), 0};
      ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience));
      std::string head;
      char buf[1024];
      while (head.find("\r\n\r\n") == std::string::npos) {
        auto n = ::read(client, buf, sizeof(buf));
        if (n <= 0)
          break;
        head.append(buf, static_cast<size_t>(n));
      }
      request_line_ = head.substr(0, head.find("\r\n"));
      for (const auto& piece : script_) {
        if (::write(client, piece.data(), piece.size()) < 0)
          break;
        std::this_thread::sleep_for(20ms);
      }
      ::close(client);
    }
    finished_.set_value();
  }

  static inline std::atomic<int> counter_{0};
  std::string path_;
  std::vector<std::string> script_;
  int listener_ = -1;
  std::string request_line_;
  std::promise<void> finished_;
  std::shared_future<void> done_ = finished_.get_future().share();
  std::thread thread_;
};

/// runtime.watch_events on a thread of its own, waited for with the
/// deadline: past it, the test fails and `stop` ends the stream (the runtime
/// polls it), so a runtime that never sees the stream end fails rather
/// than hangs. The callbacks run on that thread, one at a time.
result<void> watch(docker_runtime& runtime, const std::map<std::string, std::string>& labels,
                   const std::function<void()>& on_connected,
                   const std::function<void(const runtime_event&)>& on_event,
                   std::atomic<bool>& stop) {
  auto running = std::async(std::launch::async, [&] {
    return runtime.watch_events(labels, on_connected, on_event, stop);
  });
  if (running.wait_for(deadline) != std::future_status::ready) {
    ADD_FAILURE() << "watch_events did not return within " << deadline.count() << " s";
    stop = true;
  }
  return running.get();
}

std::string chunk(const std::string& data) {
  char size[16];
  std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
  return size + data + "\r\n";
}

const std::string stream_head = "HTTP/1.1 200 OK\r\n"
                                "Content-Type: application/json\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n";

const std::string die_line =
  R"({"status":"die","id":"c1","Type":"container","Action":"die",)"
  R"("Actor":{"ID":"c1","Attributes":{"exitCode":"137","name":"p-8000",)"
  R"("corral.pool":"p","corral.port":"8000"}},"time":1,"timeNano":1795931038268812300})"
  "\n";

const std::string start_line =
  R"({"status":"start","id":"c2","Type":"container","Action":"start",)"
  R"("Actor":{"ID":"c2","Attributes":{"name":"p-8001","corral.pool":"p",)"
  R"("corral.port":"8001"}},"time":1,"timeNano":1795931038268812301})"
  "\n";

} // namespace

TEST(docker_stream_test, events_split_across_chunks_arrive_whole_then_loss_is_reported) {
  // The die line arrives in two pieces, the start line with the rest of it;
  // then the engine ends the stream as a daemon shutting down would.
  scripted_engine engine{{stream_head, chunk(die_line.substr(0, 40)),
                          chunk(die_line.substr(40) + start_line),
                          "0\r\n\r\n"}};
  docker_runtime runtime{engine.path()};
  std::atomic<bool> stop{false};
  int connected = 0;
  std::vector<runtime_event> events;
  auto outcome = watch(
    runtime, {{"corral.pool", "p"}}, [&] { ++connected; },
    [&](const runtime_event& event) { events.push_back(event); }, stop);

  EXPECT_EQ(connected, 1);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].what, runtime_event::kind::die);
  EXPECT_EQ(events[0].port, 8000);
  EXPECT_EQ(events[0].exit_code, 137);
  EXPECT_EQ(events[1].what, runtime_event::kind::start);
  EXPECT_EQ(events[1].port, 8001);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, runtime_errc::daemon_unreachable);
  EXPECT_NE(outcome.error().message.find("lost the event stream"),
            std::string::npos)
    << outcome.error().message;
  // The filter travels URL-encoded, with the pool's label in it.
  EXPECT_NE(engine.request_line().find(
              "GET /v1.41/events?filters=%7B%22type%22%3A%5B%22container%22%5D"),
            std::string::npos)
    << engine.request_line();
  EXPECT_NE(engine.request_line().find("corral.pool%3Dp"), std::string::npos)
    << engine.request_line();
}

TEST(docker_stream_test, abrupt_close_mid_stream_is_reported_as_lost) {
  // No terminating chunk: the connection just drops, like a killed daemon.
  scripted_engine engine{{stream_head, chunk(die_line)}};
  docker_runtime runtime{engine.path()};
  std::atomic<bool> stop{false};
  int seen = 0;
  auto outcome = watch(runtime, {}, [] {}, [&](const runtime_event&) { ++seen; }, stop);
  EXPECT_EQ(seen, 1);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, runtime_errc::daemon_unreachable);
}

TEST(docker_stream_test, refused_stream_is_an_engine_error_with_its_message) {
  const std::string body = R"({"message":"invalid filter 'label'"})";
  scripted_engine engine{{"HTTP/1.1 400 Bad Request\r\n"
                          "Content-Type: application/json\r\n"
                          "Content-Length: "
                          + std::to_string(body.size()) + "\r\n\r\n" + body}};
  docker_runtime runtime{engine.path()};
  std::atomic<bool> stop{false};
  bool connected = false;
  auto outcome =
    watch(runtime, {}, [&] { connected = true; }, [](const runtime_event&) {}, stop);
  EXPECT_FALSE(connected);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, runtime_errc::engine_error);
  EXPECT_EQ(outcome.error().http_status, 400);
  EXPECT_NE(outcome.error().message.find("invalid filter 'label'"),
            std::string::npos)
    << outcome.error().message;
}

TEST(docker_stream_test, garbage_line_is_skipped_and_the_stream_goes_on) {
  scripted_engine engine{{stream_head, chunk("{not json\n"), chunk(die_line),
                          "0\r\n\r\n"}};
  docker_runtime runtime{engine.path()};
  std::atomic<bool> stop{false};
  std::vector<runtime_event> events;
  testing::internal::CaptureStderr();
  watch(
    runtime, {}, [] {}, [&](const runtime_event& event) { events.push_back(event); }, stop);
  auto logged = testing::internal::GetCapturedStderr();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].what, runtime_event::kind::die);
  EXPECT_NE(logged.find("skipping an event"), std::string::npos) << logged;
}

// Regression: event_feed cancels the stream from on_connected when its
// resync list fails, but a die line that arrived in the same read as the
// headers was still handed to on_event, an event without the state it
// changes. event_feed_test's scripted runtime checks the flag itself, so
// only the real stream reading can pin this.
TEST(docker_stream_test, stop_set_by_on_connected_drops_lines_that_came_with_the_headers) {
  scripted_engine engine{{stream_head + chunk(die_line)}};
  docker_runtime runtime{engine.path()};
  std::atomic<bool> stop{false};
  int seen = 0;
  auto outcome = watch(
    runtime, {}, [&] { stop = true; }, [&](const runtime_event&) { ++seen; }, stop);
  EXPECT_EQ(seen, 0);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, runtime_errc::cancelled);
}
