// The takeover socket: lines and descriptors over a unix stream socket.
#include "app/takeover.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <string>
#include <utility>
#include <vector>

namespace corral {

namespace {

std::string error_text(int err) {
  return std::strerror(err);
}

bool make_address(const std::string& path, sockaddr_un& addr) {
  addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path))
    return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return true;
}

bool wait_readable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  int n;
  do {
    n = ::poll(&p, 1, static_cast<int>(timeout.count()));
  } while (n < 0 && errno == EINTR);
  return n > 0;
}

} // namespace

// -- the running corral's side --------------------------------------------------------

std::variant<takeover_listener, std::string> takeover_listener::open(const std::string& path) {
  sockaddr_un addr;
  if (!make_address(path, addr))
    return "the takeover socket path " + path + " is too long";
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return "cannot create the takeover socket: " + error_text(errno);
  // Only the pool lock's holder gets here: a file left at the path is a
  // dead corral's.
  ::unlink(path.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
      || ::listen(fd, 4) != 0) {
    auto err = errno;
    ::close(fd);
    return "cannot listen on the takeover socket " + path + ": " + error_text(err);
  }
  return takeover_listener{fd, path};
}

takeover_listener::takeover_listener(takeover_listener&& other) noexcept
  : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {
}

takeover_listener& takeover_listener::operator=(takeover_listener&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

takeover_listener::~takeover_listener() {
  close();
}

int takeover_listener::accept_request(std::chrono::milliseconds timeout) {
  int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (conn < 0)
    return -1;
  auto line = read_line(conn, timeout);
  if (!line || *line != "takeover") {
    ::close(conn);
    return -1;
  }
  return conn;
}

void takeover_listener::close() {
  if (fd_ < 0)
    return;
  ::close(std::exchange(fd_, -1));
  ::unlink(path_.c_str());
}

bool hand_over_sockets(int conn, const handed_sockets& sockets) {
  // Proxy sockets first, then the admin socket. The line says which
  // descriptor is which (an older successor reads " proxy" as one socket
  // and ignores "proxies="); the control message carries them.
  std::vector<int> fds;
  for (int fd : sockets.proxy_fds)
    if (fd >= 0 && fds.size() < max_handed_proxy_sockets)
      fds.push_back(fd);
  auto proxies = fds.size();
  if (sockets.admin_fd >= 0)
    fds.push_back(sockets.admin_fd);
  std::string line = "listen";
  if (proxies > 0)
    line += " proxy";
  if (sockets.admin_fd >= 0)
    line += " admin";
  if (proxies > 0)
    line += " proxies=" + std::to_string(proxies);
  line += "\n";
  iovec io{line.data(), line.size()};
  msghdr msg{};
  msg.msg_iov = &io;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    auto* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  return ::sendmsg(conn, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(line.size());
}

bool send_line(int conn, const std::string& line) {
  auto text = line + "\n";
  return ::send(conn, text.data(), text.size(), MSG_NOSIGNAL)
         == static_cast<ssize_t>(text.size());
}

std::optional<std::string> read_line(int conn, std::chrono::milliseconds timeout) {
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !wait_readable(conn, left))
      return std::nullopt;
    char c = 0;
    auto n = ::recv(conn, &c, 1, 0);
    if (n <= 0)
      return std::nullopt;
    if (c == '\n')
      return line;
    line += c;
    if (line.size() > 256)
      return std::nullopt;
  }
}

// -- the successor's side -------------------------------------------------------------

std::variant<takeover_client, std::string> takeover_client::request(
  const std::string& path, std::chrono::milliseconds timeout) {
  sockaddr_un addr;
  if (!make_address(path, addr))
    return "the takeover socket path " + path + " is too long";
  int conn = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (conn < 0)
    return "cannot create a socket: " + error_text(errno);
  if (::connect(conn, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    auto err = errno;
    ::close(conn);
    return "no running corral to take over at " + path + " (" + error_text(err) + ")";
  }
  if (!send_line(conn, "takeover")) {
    ::close(conn);
    return "the running corral hung up";
  }
  // The sockets come with the "listen" line.
  handed_sockets sockets;
  if (!wait_readable(conn, timeout)) {
    ::close(conn);
    return "the running corral did not answer within "
           + std::to_string(timeout.count()) + " ms";
  }
  char text[128] = {};
  iovec io{text, sizeof(text) - 1};
  msghdr msg{};
  msg.msg_iov = &io;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * (max_handed_proxy_sockets + 1))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  auto n = ::recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  if (n <= 0) {
    ::close(conn);
    return "the running corral hung up before it handed its sockets over";
  }
  std::string line(text, static_cast<size_t>(n));
  std::vector<int> received;
  for (auto* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      auto k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      auto* data = reinterpret_cast<const unsigned char*>(CMSG_DATA(c));
      for (std::size_t i = 0; i < k; ++i) {
        int fd;
        std::memcpy(&fd, data + i * sizeof(int), sizeof(int));
        received.push_back(fd);
      }
    }
  auto head = line.substr(0, line.find('\n'));
  // "proxies=N" (one per io thread of the predecessor); an older
  // predecessor sends " proxy" and one socket.
  std::size_t proxies = head.find(" proxy") != std::string::npos ? 1 : 0;
  if (auto at = head.find(" proxies="); at != std::string::npos)
    proxies = std::strtoul(head.c_str() + at + 9, nullptr, 10);
  std::size_t next = 0;
  for (; next < proxies && next < received.size(); ++next)
    sockets.proxy_fds.push_back(received[next]);
  if (head.find(" admin") != std::string::npos && next < received.size())
    sockets.admin_fd = received[next++];
  // Descriptors nobody named: not ours to keep open.
  for (auto i = next; i < received.size(); ++i)
    ::close(received[i]);
  received.resize(next);
  // Whatever followed the "listen" line in the same read is part of the
  // next line; the predecessor sends "released" only after it let go.
  auto end = line.find('\n');
  auto rest = end == std::string::npos ? std::string{} : line.substr(end + 1);
  std::optional<std::string> released;
  if (auto nl = rest.find('\n'); nl != std::string::npos) {
    released = rest.substr(0, nl);
  } else {
    auto more = read_line(conn, timeout);
    if (more)
      released = rest + *more;
  }
  {
    if (!released || *released != "released") {
      for (int fd : received)
        if (fd >= 0)
          ::close(fd);
      ::close(conn);
      return "the running corral did not release its pool";
    }
  }
  return takeover_client{conn, sockets};
}

takeover_client::takeover_client(takeover_client&& other) noexcept
  : conn_(std::exchange(other.conn_, -1)), sockets_(other.sockets_) {
}

takeover_client& takeover_client::operator=(takeover_client&& other) noexcept {
  if (this != &other) {
    if (conn_ >= 0)
      ::close(conn_);
    conn_ = std::exchange(other.conn_, -1);
    sockets_ = other.sockets_;
  }
  return *this;
}

takeover_client::~takeover_client() {
  if (conn_ >= 0)
    ::close(conn_);
}

void takeover_client::ready() {
  if (conn_ < 0)
    return;
  send_line(conn_, "ready");
  ::close(std::exchange(conn_, -1));
}

} // namespace corral
