// Fuzzes the proxy's request path: raw client bytes go over loopback into a
// real proxy_server (its listener, sessions, http_rules, backend pool), which
// forwards to a scripted backend that answers with raw bytes too.
//
// An input is the client's bytes, optionally followed by a line "#BACKEND#"
// and the bytes the backend answers each request with (when absent: a
// 200 with a short body):
//   GET / HTTP/1.1\r\nHost: a\r\n\r\n
//   #BACKEND#
//   HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok
//
// Besides ASan and UBSan, two of the proxy's promises are checked after each
// input: the connection ends (the proxy answers or closes within its
// timeouts once the client stopped sending), and every backend port handed
// out for it is reported back exactly once (the balancer counts requests in
// flight from those reports: a lost or double report skews it forever).
#include "log/log.hpp"
#include "proxy/proxy_server.hpp"
#include "tests/proxy/support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

[[noreturn]] void fail(const char* why) {
  std::fprintf(stderr, "proxy_fuzzer: %s\n", why);
  std::abort();
}

int listen_loopback(uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 64) != 0)
    fail("cannot listen on loopback");
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

bool contains_nocase(std::string_view text, std::string_view word) {
  for (size_t i = 0; i + word.size() <= text.size(); ++i)
    if (strncasecmp(text.data() + i, word.data(), word.size()) == 0)
      return true;
  return false;
}

/// Reads one request the crude way (its head, then Content-Length bytes or
/// up to the last chunk), giving up after 100 ms without a byte.
void read_request(int fd) {
  std::string in;
  char buf[16384];
  size_t want = std::string::npos;
  for (;;) {
    if (want == std::string::npos) {
      if (auto end = in.find("\r\n\r\n"); end != std::string::npos) {
        std::string_view head{in.data(), end};
        want = end + 4;
        if (auto at = head.find("ontent-Length:"); at != std::string_view::npos)
          want += std::strtoull(head.data() + at + 14, nullptr, 10) % (1 << 20);
        else if (!contains_nocase(head, "chunked"))
          return;
      }
    }
    if (want != std::string::npos && in.size() >= want
        && (!contains_nocase(in.substr(0, 200), "chunked") || in.find("0\r\n\r\n") != std::string::npos))
      return;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      return;
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      return;
    in.append(buf, static_cast<size_t>(n));
  }
}

/// The backend: one connection at a time, one request each, answered with
/// the current input's bytes and closed.
class scripted_backend {
public:
  scripted_backend() : fd_(listen_loopback(port_)) {
    thread_ = std::thread([this] { run(); });
    thread_.detach(); // lives as long as the process
  }

  uint16_t port() const {
    return port_;
  }

  void set_answer(std::string answer) {
    std::lock_guard guard{mutex_};
    answer_ = std::move(answer);
  }

private:
  void run() {
    for (;;) {
      int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0)
        continue;
      read_request(conn);
      std::string answer;
      {
        std::lock_guard guard{mutex_};
        answer = answer_;
      }
      ::send(conn, answer.data(), answer.size(), MSG_NOSIGNAL);
      ::shutdown(conn, SHUT_WR);
      // Let the proxy read the answer before the close can reset it.
      pollfd p{conn, POLLIN, 0};
      char sink[4096];
      while (::poll(&p, 1, 20) > 0 && ::recv(conn, sink, sizeof sink, 0) > 0) {
      }
      ::close(conn);
    }
  }

  uint16_t port_ = 0;
  int fd_;
  std::thread thread_;
  std::mutex mutex_;
  std::string answer_;
};

struct fixture {
  scripted_backend backend;
  corral::test::fake_balancer balancer{{backend.port()}};
  std::unique_ptr<corral::proxy_server> proxy;

  fixture() {
    auto settings = corral::test::test_settings();
    // Small bounds and short timeouts: a few hundred bytes reach each limit,
    // and a stuck connection ends within a second.
    settings.max_body = 1024;
    settings.max_buffered = 4096;
    settings.retries = 1;
    settings.connect_timeout = 200ms;
    settings.backend_timeout = 300ms;
    settings.header_timeout = 300ms;
    settings.idle_timeout = 300ms;
    settings.client_timeout = 300ms;
    settings.shutdown_timeout = 1s;
    proxy = std::make_unique<corral::proxy_server>(settings, balancer.factory());
    proxy->start();
  }
};

/// Sends `bytes` to the proxy and reads until it closes. The client stops
/// sending once everything is written and nothing came back for 10 ms (a
/// half-close, which the proxy takes as the client going away).
void exchange(uint16_t port, std::string_view bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    fail("cannot connect to the proxy");
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  auto deadline = clock_type::now() + 5s;
  size_t sent = 0;
  bool writing = true;
  bool half_closed = false;
  char buf[16384];
  for (;;) {
    if (clock_type::now() > deadline)
      fail("the proxy kept a connection open 5 s after its client stopped sending");
    if (writing && sent == bytes.size())
      writing = false;
    pollfd p{fd, static_cast<short>(POLLIN | (writing ? POLLOUT : 0)), 0};
    int ready = ::poll(&p, 1, writing ? 100 : 10);
    if (ready == 0) {
      if (!writing && !half_closed) {
        ::shutdown(fd, SHUT_WR);
        half_closed = true;
      }
      continue;
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
        break; // closed by the proxy
    }
    if (writing && (p.revents & POLLOUT)) {
      auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n > 0)
        sent += static_cast<size_t>(n);
      else if (errno != EAGAIN && errno != EWOULDBLOCK)
        writing = false; // the proxy stopped reading (an early answer)
    }
  }
  ::close(fd);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Access lines and warnings for every input would be most of the work.
  corral::log::set_level(corral::log::level::error);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fixture* f = new fixture; // for the whole run: threads and all
  std::string_view input{reinterpret_cast<const char*>(data), size};
  constexpr std::string_view separator = "\n#BACKEND#\n";
  auto split = input.find(separator);
  auto client = input.substr(0, split);
  f->backend.set_answer(split == std::string_view::npos
                          ? std::string{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"}
                          : std::string{input.substr(split + separator.size())});
  exchange(f->proxy->port(), client);
  if (!f->balancer.wait_settled(5s))
    fail("a backend port handed out was never reported back");
  if (!f->balancer.errors().empty())
    fail(("a port was reported twice: " + f->balancer.errors().front()).c_str());
  return 0;
}
