// The pool lock: flock(2) on a file that names its holder.
#include "app/pool_lock.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/file.h>
#include <unistd.h>
#include <utility>

namespace corral {

std::variant<pool_lock, std::string> pool_lock::acquire(const std::string& dir,
                                                        const std::string& pool,
                                                        const std::string& holder) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  auto path = dir + "/" + pool + ".lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return "cannot open the pool lock " + path + ": " + std::strerror(errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    auto err = errno;
    if (err != EWOULDBLOCK) {
      ::close(fd);
      return "cannot lock " + path + ": " + std::strerror(err);
    }
    // Held: the holder wrote who it is.
    char text[256] = {};
    auto n = ::pread(fd, text, sizeof(text) - 1, 0);
    ::close(fd);
    std::string who = n > 0 ? std::string(text, static_cast<size_t>(n)) : "";
    while (!who.empty() && (who.back() == '\n' || who.back() == ' '))
      who.pop_back();
    return "pool " + pool + " is managed by another corral ("
           + (who.empty() ? std::string{"see "} + path : who) + "); stop it first";
  }
  auto line = holder + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, line.data(), line.size(), 0) < 0) {
    // The lock holds all the same; only the name of the holder is missing.
  }
  return pool_lock{fd, std::move(path)};
}

pool_lock::pool_lock(pool_lock&& other) noexcept
  : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {
}

pool_lock& pool_lock::operator=(pool_lock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

pool_lock::~pool_lock() {
  release();
}

void pool_lock::release() {
  if (fd_ >= 0) {
    ::flock(fd_, LOCK_UN);
    ::close(std::exchange(fd_, -1));
  }
}

} // namespace corral
