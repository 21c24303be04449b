// Idle keep-alive connections to the backends, per io thread.
#include "proxy/upstream_pool.hpp"

#include <cerrno>
#include <sys/socket.h>
#include <sys/types.h>

namespace corral::proxy {

upstream_pool::upstream_pool(std::size_t max_idle_per_backend)
  : max_idle_(max_idle_per_backend) {
}

bool upstream_pool::usable(socket_type& socket) {
  if (!socket.is_open())
    return false;
  char byte;
  auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  // Nothing to read is the only healthy answer: 0 is the backend's FIN, a
  // byte is data nobody asked for, and any error means the connection broke.
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

bool upstream_pool::checkout(uint16_t port, socket_type& out, bool verify) {
  auto i = idle_.find(port);
  if (i == idle_.end())
    return false;
  auto& stack = i->second;
  while (!stack.empty()) {
    auto socket = std::move(stack.back());
    stack.pop_back();
    if (verify ? usable(socket) : socket.is_open()) {
      out = std::move(socket);
      return true;
    }
    boost::system::error_code ignored;
    socket.close(ignored);
  }
  return false;
}

void upstream_pool::release(uint16_t port, socket_type&& socket) {
  auto& stack = idle_[port];
  if (stack.size() >= max_idle_) {
    boost::system::error_code ignored;
    socket.close(ignored);
    return;
  }
  if (stack.capacity() == 0)
    stack.reserve(max_idle_);
  stack.push_back(std::move(socket));
}

std::size_t upstream_pool::sweep() {
  std::size_t closed = 0;
  for (auto i = idle_.begin(); i != idle_.end();) {
    auto& stack = i->second;
    std::erase_if(stack, [&](socket_type& socket) {
      if (usable(socket))
        return false;
      boost::system::error_code ignored;
      socket.close(ignored);
      ++closed;
      return true;
    });
    // Forget ports with nothing idle: a port gone for good costs nothing.
    if (stack.empty())
      i = idle_.erase(i);
    else
      ++i;
  }
  return closed;
}

void upstream_pool::drop(uint16_t port) {
  auto i = idle_.find(port);
  if (i == idle_.end())
    return;
  boost::system::error_code ignored;
  for (auto& socket : i->second)
    socket.close(ignored);
  idle_.erase(i);
}

void upstream_pool::clear() {
  boost::system::error_code ignored;
  for (auto& [port, stack] : idle_)
    for (auto& socket : stack)
      socket.close(ignored);
  idle_.clear();
}

std::size_t upstream_pool::idle(uint16_t port) const {
  auto i = idle_.find(port);
  return i == idle_.end() ? 0 : i->second.size();
}

} // namespace corral::proxy
