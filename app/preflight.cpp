// Preflight checks and the clean-up of leftovers, all blocking: main runs
// them before any actor or io thread exists.
#include "app/preflight.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <vector>

namespace corral {

std::optional<std::string> check_listen(const endpoint& ep, std::string_view what) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return std::string{"cannot create a socket: "} + std::strerror(errno);
  int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(ep.port);
  ::inet_pton(AF_INET, ep.host.c_str(), &addr.sin_addr);
  std::optional<std::string> problem;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    problem = "cannot listen on " + ep.host + ":" + std::to_string(ep.port) + " ("
              + std::string{what} + "): " + std::strerror(errno);
  ::close(fd);
  return problem;
}

result<std::string> check_docker(container_runtime& runtime, const pool_settings& pool) {
  if (auto pong = runtime.ping(); !pong)
    return pong.error();
  return runtime.image_id(pool.image);
}

} // namespace corral
