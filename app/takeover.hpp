// Upgrading corral without an outage: a running corral hands its listening
// sockets and its pool to a successor over a unix socket (HAProxy's socket
// handover, SCM_RIGHTS), so no connection is refused and no container is
// restarted. Plain POSIX, no CAF and no Asio.
//
// The exchange, one line each way (the successor starts it):
//   successor -> running:  "takeover"
//   running -> successor:  "listen proxy admin proxies=N" line + its N
//                          proxy sockets and its admin socket
//   running -> successor:  "released"  (it stopped managing the pool and
//                                      let go of the pool lock)
//   successor -> running:  "ready"     (it serves; the predecessor stops
//                                      accepting, finishes its requests in
//                                      flight and exits, leaving the pool)
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace corral {

/// The sockets a predecessor hands over: its proxy's listening sockets (one
/// per io thread) and its admin socket (-1 when it had none).
struct handed_sockets {
  std::vector<int> proxy_fds;
  int admin_fd = -1;
};

/// Proxy sockets a handover carries at most.
inline constexpr std::size_t max_handed_proxy_sockets = 64;

/// The running corral's side: listens on `<run_dir>/<pool>.sock`.
class takeover_listener {
public:
  /// Binds the socket (replacing a stale file); on failure one line.
  static std::variant<takeover_listener, std::string> open(const std::string& path);

  takeover_listener(takeover_listener&& other) noexcept;
  takeover_listener& operator=(takeover_listener&& other) noexcept;
  takeover_listener(const takeover_listener&) = delete;
  ~takeover_listener();

  /// The listening descriptor, for poll(2).
  int fd() const {
    return fd_;
  }

  /// Accepts a successor and reads its request; -1 when it was not one.
  int accept_request(std::chrono::milliseconds timeout);

  /// Stops listening and removes the socket file (a successor binds it).
  void close();

private:
  takeover_listener(int fd, std::string path) : fd_(fd), path_(std::move(path)) {
  }
  int fd_ = -1;
  std::string path_;
};

/// Sends the sockets to the successor on `conn`; false when it is gone.
bool hand_over_sockets(int conn, const handed_sockets& sockets);

/// Sends one line ("released") on `conn`; false when it is gone.
bool send_line(int conn, const std::string& line);

/// Reads one line from `conn` within `timeout`; nullopt on timeout or EOF.
std::optional<std::string> read_line(int conn, std::chrono::milliseconds timeout);

/// The successor's side of one takeover.
class takeover_client {
public:
  /// Connects to the running corral at `path` and asks for its sockets and
  /// its pool; waits until it released the pool. On failure one line.
  static std::variant<takeover_client, std::string> request(const std::string& path,
                                                            std::chrono::milliseconds timeout);

  takeover_client(takeover_client&& other) noexcept;
  takeover_client& operator=(takeover_client&& other) noexcept;
  takeover_client(const takeover_client&) = delete;
  ~takeover_client();

  /// The sockets received (owned by the caller from now on).
  const handed_sockets& sockets() const {
    return sockets_;
  }

  /// Tells the predecessor that this corral serves; it then stops.
  void ready();

private:
  takeover_client(int conn, handed_sockets sockets) : conn_(conn), sockets_(sockets) {
  }
  int conn_ = -1;
  handed_sockets sockets_;
};

} // namespace corral
