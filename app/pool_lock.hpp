// One corral per pool: an advisory lock (flock) on <dir>/<pool>.lock, held
// for the process's life. The kernel drops it when the holder dies, so a
// stale lock never blocks a start; the file names the holder for the one
// line a second corral prints.
#pragma once

#include <optional>
#include <string>
#include <variant>

namespace corral {

/// A held pool lock; released on destruction.
class pool_lock {
public:
  /// Takes the lock of pool `pool` in `dir` (created when missing) without
  /// waiting, and writes `holder` (e.g. "pid 4242, admin 127.0.0.1:9090")
  /// into it. On failure: one line for the user, naming the other corral
  /// when it holds the lock.
  static std::variant<pool_lock, std::string> acquire(const std::string& dir,
                                                      const std::string& pool,
                                                      const std::string& holder);

  pool_lock(pool_lock&& other) noexcept;
  pool_lock& operator=(pool_lock&& other) noexcept;
  pool_lock(const pool_lock&) = delete;
  pool_lock& operator=(const pool_lock&) = delete;
  ~pool_lock();

  /// Lets go of the lock now (a successor corral takes the pool over).
  void release();

  /// The lock file's path.
  const std::string& path() const {
    return path_;
  }

private:
  pool_lock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {
  }

  int fd_ = -1;
  std::string path_;
};

} // namespace corral
