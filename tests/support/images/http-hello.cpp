// A tiny HTTP/1.1 server for tests: answers 200 to every request on
// 127.0.0.1:$PORT and exits 0 promptly on SIGTERM (it runs as PID 1, where
// signals without a handler are dropped and `docker stop` would wait).
// With EXIT_ON_PORTS="8001,8003" it exits 3 at once when $PORT is listed:
// one image whose slots crash-loop on some ports and serve on the others.
// A request for /slow is answered after SLOW_MS milliseconds (default 2000),
// by a child process, so that the probes and other requests are answered
// meanwhile: a request that is surely in flight. With IGNORE_SIGTERM=1 it
// ignores SIGTERM, so `docker stop` waits the whole stop timeout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

volatile sig_atomic_t stop_signal = 0;

void on_signal(int signal) {
  stop_signal = signal;
}

// Reads until the end of the request head (or 8 KiB, or 1 s of silence), so
// the answer never races the client's write; returns whether it asked for
// /slow. The rest of the request is ignored.
bool read_request_head(int fd) {
  timeval patience{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience));
  char head[8192];
  size_t used = 0;
  while (used < sizeof(head) - 1) {
    auto n = ::read(fd, head + used, sizeof(head) - 1 - used);
    if (n <= 0)
      break;
    used += static_cast<size_t>(n);
    head[used] = '\0';
    if (std::strstr(head, "\r\n\r\n") != nullptr)
      break;
  }
  head[used] = '\0';
  return std::strncmp(head, "GET /slow", 9) == 0;
}

/// Waits `ms` milliseconds, whatever signal arrives meanwhile.
void pause_for(long ms) {
  timespec left{ms / 1000, (ms % 1000) * 1000000};
  while (::nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

void answer(int fd) {
  static const char reply[] = "HTTP/1.1 200 OK\r\n"
                              "Content-Type: text/plain\r\n"
                              "Content-Length: 11\r\n"
                              "Connection: close\r\n"
                              "\r\n"
                              "http-hello\n";
  size_t sent = 0;
  while (sent < sizeof(reply) - 1) {
    auto n = ::write(fd, reply + sent, sizeof(reply) - 1 - sent);
    if (n <= 0)
      return;
    sent += static_cast<size_t>(n);
  }
}

} // namespace

int main() {
  const char* port_text = std::getenv("PORT");
  int port = port_text != nullptr ? std::atoi(port_text) : 8000;
  if (port <= 0 || port > 65535) {
    std::fprintf(stderr, "http-hello: bad PORT %s\n", port_text);
    return 2;
  }
  if (const char* doomed = std::getenv("EXIT_ON_PORTS")) {
    std::string list = std::string{","} + doomed + ",";
    if (list.find("," + std::to_string(port) + ",") != std::string::npos) {
      std::fprintf(stderr, "http-hello: port %d is in EXIT_ON_PORTS: exiting\n", port);
      return 3;
    }
  }

  // SIGTERM stays blocked except inside ppoll, which unblocks it atomically:
  // a signal can never slip in between the flag check and the wait.
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGINT);
  sigprocmask(SIG_BLOCK, &blocked, nullptr);
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  const char* ignore = std::getenv("IGNORE_SIGTERM");
  if (ignore != nullptr && std::strcmp(ignore, "1") == 0) {
    struct sigaction ignored {};
    ignored.sa_handler = SIG_IGN;
    sigaction(SIGTERM, &ignored, nullptr);
    std::fprintf(stderr, "http-hello: ignoring SIGTERM\n");
  }
  // Children that answered a slow request are reaped by the kernel.
  struct sigaction no_zombies {};
  no_zombies.sa_handler = SIG_IGN;
  sigaction(SIGCHLD, &no_zombies, nullptr);
  const char* slow_text = std::getenv("SLOW_MS");
  long slow_ms = slow_text != nullptr ? std::atol(slow_text) : 2000;
  sigset_t while_waiting;
  sigemptyset(&while_waiting);

  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int on = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
      || ::listen(listener, 64) != 0) {
    std::fprintf(stderr, "http-hello: cannot listen on 127.0.0.1:%d: %s\n",
                 port, std::strerror(errno));
    return 1;
  }
  std::fprintf(stderr, "http-hello: listening on 127.0.0.1:%d\n", port);

  while (stop_signal == 0) {
    pollfd ready{listener, POLLIN, 0};
    if (::ppoll(&ready, 1, nullptr, &while_waiting) < 0)
      continue; // EINTR: the loop condition sees the signal
    int client = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0)
      continue;
    if (!read_request_head(client)) {
      answer(client);
    } else if (auto child = ::fork(); child == 0) {
      ::close(listener);
      pause_for(slow_ms);
      answer(client);
      ::_exit(0);
    } else if (child < 0) { // no child: slow all the same
      pause_for(slow_ms);
      answer(client);
    }
    ::close(client);
  }
  std::fprintf(stderr, "http-hello: signal %d received, exiting 0\n",
               static_cast<int>(stop_signal));
  return 0;
}
