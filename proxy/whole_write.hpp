// A completion condition for async_write that offers the kernel everything.
#pragma once

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <limits>

namespace corral::proxy {

/// Asio's own completion conditions (transfer_all and friends) hand the
/// socket at most 64 KiB per system call. A 64 KiB request body or relayed
/// piece and its head then went out in two sendmsg calls, and in one TCP
/// segment more than nginx and HAProxy send (docs/BENCHMARKS.md, run 4).
/// With this one a gather write is one sendmsg, unless the socket's buffer
/// is full.
inline std::size_t whole_write(const boost::system::error_code& ec, std::size_t) {
  return ec ? 0 : std::numeric_limits<std::size_t>::max();
}

} // namespace corral::proxy
