// A test workload that misbehaves on request, for the confinement tests:
// answers 200 "hog" on 127.0.0.1:$PORT, and
//   POST /alloc  touches memory 4 MiB at a time until the kernel kills it
//                (past its container's memory limit; exits 5 at 1 GiB):
//                no answer;
//   POST /fork   forks children (each waits) until fork fails (or 2000 of
//                them ran: no limit held), then kills
//                and reaps them all and answers "forked N, then: <error>";
//                past the container's pids limit fork fails with EAGAIN.
// Exits 0 promptly on SIGTERM (it runs as PID 1).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

volatile sig_atomic_t stop_signal = 0;

void on_signal(int signal) {
  stop_signal = signal;
}

// The request line and headers (the body, if any, is ignored).
std::string read_request_head(int fd) {
  timeval patience{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience));
  std::string head;
  char buf[1024];
  while (head.size() < 8192 && head.find("\r\n\r\n") == std::string::npos) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0)
      break;
    head.append(buf, static_cast<size_t>(n));
  }
  return head;
}

void answer(int fd, const std::string& body) {
  auto reply = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
               + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  size_t sent = 0;
  while (sent < reply.size()) {
    auto n = ::write(fd, reply.data() + sent, reply.size() - sent);
    if (n <= 0)
      return;
    sent += static_cast<size_t>(n);
  }
}

[[noreturn]] void allocate_forever() {
  std::fprintf(stderr, "hog: allocating until the kernel stops me\n");
  constexpr size_t chunk = 4u << 20;
  // A bound of its own: without a memory limit it stops at 1 GiB, exit 5.
  for (size_t total = 0;; total += chunk) {
    if (total >= (size_t{1} << 30)) {
      std::fprintf(stderr, "hog: 1 GiB allocated and still alive: no memory limit\n");
      std::_Exit(5);
    }
    auto* block = static_cast<char*>(std::malloc(chunk));
    if (block == nullptr) {
      std::fprintf(stderr, "hog: malloc failed after %zu MiB\n", total >> 20);
      std::_Exit(4);
    }
    // Touch every page, so the memory is really charged to the cgroup.
    for (size_t i = 0; i < chunk; i += 4096)
      block[i] = 1;
  }
}

std::string fork_until_refused() {
  std::vector<pid_t> children;
  int error = 0;
  // A bound of its own: without a pids limit it stops here, harmlessly.
  while (children.size() < 2000) {
    pid_t pid = ::fork();
    if (pid < 0) {
      error = errno;
      break;
    }
    if (pid == 0) {
      ::pause();
      std::_Exit(0);
    }
    children.push_back(pid);
  }
  for (auto pid : children)
    ::kill(pid, SIGKILL);
  for (auto pid : children)
    ::waitpid(pid, nullptr, 0);
  auto text = "forked " + std::to_string(children.size()) + ", then: "
              + (error != 0 ? std::strerror(error) : "no error");
  std::fprintf(stderr, "hog: %s\n", text.c_str());
  return text;
}

} // namespace

int main() {
  const char* port_text = std::getenv("PORT");
  int port = port_text != nullptr ? std::atoi(port_text) : 8000;
  if (port <= 0 || port > 65535) {
    std::fprintf(stderr, "hog: bad PORT %s\n", port_text);
    return 2;
  }

  // SIGTERM stays blocked except inside ppoll (see http-hello.cpp).
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGINT);
  sigprocmask(SIG_BLOCK, &blocked, nullptr);
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
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
    std::fprintf(stderr, "hog: cannot listen on 127.0.0.1:%d: %s\n", port, std::strerror(errno));
    return 1;
  }
  std::fprintf(stderr, "hog: listening on 127.0.0.1:%d\n", port);

  while (stop_signal == 0) {
    pollfd ready{listener, POLLIN, 0};
    if (::ppoll(&ready, 1, nullptr, &while_waiting) < 0)
      continue;
    int client = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0)
      continue;
    auto head = read_request_head(client);
    if (head.rfind("POST /alloc ", 0) == 0)
      allocate_forever();
    if (head.rfind("POST /fork ", 0) == 0)
      answer(client, fork_until_refused());
    else
      answer(client, "hog\n");
    ::close(client);
  }
  std::fprintf(stderr, "hog: signal %d received, exiting 0\n", static_cast<int>(stop_signal));
  return 0;
}
