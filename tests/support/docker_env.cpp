// Probes the Docker socket with a raw HTTP/1.0 ping (no libcurl needed here).
#include "tests/support/docker_env.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace corral::test {

std::string docker_socket() {
  const char* env = std::getenv("DOCKER_SOCKET");
  return env && *env ? env : "/var/run/docker.sock";
}

bool docker_available() {
  auto path = docker_socket();
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const char req[] = "GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n";
    if (::write(fd, req, sizeof(req) - 1) == static_cast<ssize_t>(sizeof(req) - 1)) {
      char buf[64] = {};
      auto n = ::read(fd, buf, sizeof(buf) - 1);
      ok = n > 12 && std::strncmp(buf + 9, "200", 3) == 0;
    }
  }
  ::close(fd);
  return ok;
}

bool docker_required() {
  const char* env = std::getenv("CORRAL_REQUIRE_DOCKER");
  return env && *env && std::strcmp(env, "0") != 0;
}

std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return "ctest-" + prefix + "-" + std::to_string(::getpid()) + "-"
         + std::to_string(counter++);
}

} // namespace corral::test
