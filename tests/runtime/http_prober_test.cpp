// http_prober against in-process loopback servers: healthy, failing, hung, absent.
#include "runtime/http_prober.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

using namespace corral;
using namespace std::chrono_literals;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

/// A loopback HTTP server on an ephemeral port with one canned behaviour,
/// running on its own thread.
class canned_server {
public:
  enum class mode { answer_200, answer_500, hang };

  explicit canned_server(mode behaviour) : mode_(behaviour) {
    acceptor_.open(tcp::v4());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind({net::ip::address_v4::loopback(), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept_next();
    thread_ = std::thread([this] { io_.run(); });
  }

  ~canned_server() {
    io_.stop();
    thread_.join();
  }

  uint16_t port() const { return port_; }

private:
  struct connection {
    explicit connection(net::io_context& io) : socket(io) {}
    tcp::socket socket;
    net::streambuf request;
    std::string reply;
  };

  void accept_next() {
    auto conn = std::make_shared<connection>(io_);
    acceptor_.async_accept(conn->socket, [this, conn](auto ec) {
      if (ec)
        return;
      serve(conn);
      accept_next();
    });
  }

  void serve(const std::shared_ptr<connection>& conn) {
    if (mode_ == mode::hang) {
      // Accept, read nothing, answer nothing: a wedged container.
      hung_.push_back(conn);
      return;
    }
    net::async_read_until(
      conn->socket, conn->request, "\r\n\r\n", [this, conn](auto ec, auto) {
        if (ec)
          return;
        conn->reply = mode_ == mode::answer_200
                        ? "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                          "Connection: close\r\n\r\nok"
                        : "HTTP/1.1 500 Internal Server Error\r\n"
                          "Content-Length: 0\r\nConnection: close\r\n\r\n";
        net::async_write(conn->socket, net::buffer(conn->reply),
                         [conn](auto, auto) {});
      });
  }

  mode mode_;
  net::io_context io_;
  tcp::acceptor acceptor_{io_};
  uint16_t port_ = 0;
  std::vector<std::shared_ptr<connection>> hung_;
  std::thread thread_;
};

/// A port nothing listens on: bound once by the kernel's choice, then freed.
uint16_t closed_port() {
  net::io_context io;
  tcp::acceptor acceptor{io, {net::ip::address_v4::loopback(), 0}};
  return acceptor.local_endpoint().port();
}

/// Starts one probe and hands back its outcome as a future.
std::future<probe_result> start_probe(http_prober& prober, uint16_t port,
                                      std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<probe_result>>();
  auto outcome = promise->get_future();
  prober.probe(port, timeout, [promise](probe_result result) {
    promise->set_value(std::move(result));
  });
  return outcome;
}

} // namespace

TEST(http_prober_test, healthy_server_passes) {
  canned_server server{canned_server::mode::answer_200};
  http_prober prober{"/health"};
  auto outcome = start_probe(prober, server.port(), 2000ms);
  ASSERT_EQ(outcome.wait_for(3s), std::future_status::ready);
  auto result = outcome.get();
  EXPECT_TRUE(result.passed) << result.reason;
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.reason, "");
}

TEST(http_prober_test, server_error_fails_with_its_status) {
  canned_server server{canned_server::mode::answer_500};
  http_prober prober;
  auto outcome = start_probe(prober, server.port(), 2000ms);
  ASSERT_EQ(outcome.wait_for(3s), std::future_status::ready);
  auto result = outcome.get();
  EXPECT_FALSE(result.passed);
  EXPECT_EQ(result.status, 500);
  EXPECT_EQ(result.reason, "status 500");
}

TEST(http_prober_test, closed_port_fails_with_connection_refused) {
  http_prober prober;
  auto outcome = start_probe(prober, closed_port(), 2000ms);
  ASSERT_EQ(outcome.wait_for(3s), std::future_status::ready);
  auto result = outcome.get();
  EXPECT_FALSE(result.passed);
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(result.reason, "connection refused");
}

TEST(http_prober_test, hung_server_fails_at_the_timeout) {
  canned_server server{canned_server::mode::hang};
  http_prober prober;
  auto started = clock_type::now();
  auto outcome = start_probe(prober, server.port(), 300ms);
  ASSERT_EQ(outcome.wait_for(3s), std::future_status::ready);
  auto elapsed = clock_type::now() - started;
  auto result = outcome.get();
  EXPECT_FALSE(result.passed);
  EXPECT_EQ(result.reason, "timeout after 300 ms");
  EXPECT_GE(elapsed, 290ms);
  EXPECT_LT(elapsed, 1000ms);
}

TEST(http_prober_test, hung_server_does_not_delay_a_concurrent_probe) {
  canned_server hung{canned_server::mode::hang};
  canned_server healthy{canned_server::mode::answer_200};
  http_prober prober;
  auto started = clock_type::now();
  auto stuck = start_probe(prober, hung.port(), 1500ms);
  auto quick = start_probe(prober, healthy.port(), 1500ms);
  ASSERT_EQ(quick.wait_for(1s), std::future_status::ready);
  auto quick_elapsed = clock_type::now() - started;
  EXPECT_TRUE(quick.get().passed);
  EXPECT_LT(quick_elapsed, 300ms);
  // The hung probe is still waiting for its own deadline.
  EXPECT_EQ(stuck.wait_for(0ms), std::future_status::timeout);
  ASSERT_EQ(stuck.wait_for(3s), std::future_status::ready);
  EXPECT_EQ(stuck.get().reason, "timeout after 1500 ms");
}

TEST(http_prober_test, many_probes_run_at_once) {
  canned_server server{canned_server::mode::answer_200};
  http_prober prober;
  std::vector<std::future<probe_result>> outcomes;
  for (int i = 0; i < 64; ++i)
    outcomes.push_back(start_probe(prober, server.port(), 2000ms));
  for (auto& outcome : outcomes) {
    ASSERT_EQ(outcome.wait_for(3s), std::future_status::ready);
    EXPECT_TRUE(outcome.get().passed);
  }
}

TEST(http_prober_test, done_runs_once_on_the_prober_thread_never_inline) {
  canned_server server{canned_server::mode::answer_200};
  http_prober prober;
  std::mutex mutex;
  std::vector<std::thread::id> callers;
  std::promise<void> all_done;
  constexpr int probes = 3;
  for (int i = 0; i < probes; ++i)
    prober.probe(i == 0 ? closed_port() : server.port(), 2000ms,
                 [&](probe_result) {
                   std::lock_guard guard{mutex};
                   callers.push_back(std::this_thread::get_id());
                   if (callers.size() == probes)
                     all_done.set_value();
                 });
  ASSERT_EQ(all_done.get_future().wait_for(3s), std::future_status::ready);
  std::lock_guard guard{mutex};
  ASSERT_EQ(callers.size(), 3u);
  EXPECT_NE(callers[0], std::this_thread::get_id());
  EXPECT_EQ(callers[0], callers[1]);
  EXPECT_EQ(callers[1], callers[2]);
}

TEST(http_prober_test, destroying_the_prober_reports_probes_in_flight_as_stopped) {
  canned_server server{canned_server::mode::hang};
  std::atomic<int> calls{0};
  probe_result last;
  auto started = clock_type::now();
  {
    http_prober prober;
    prober.probe(server.port(), 10s, [&](probe_result result) {
      last = std::move(result);
      ++calls;
    });
  }
  EXPECT_LT(clock_type::now() - started, 1s);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_FALSE(last.passed);
  EXPECT_EQ(last.reason, "prober stopped");
}
