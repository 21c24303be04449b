// Failures whose cause is corral itself (out of file descriptors, of memory,
// of local ports), not the other end. They must never count against a
// backend or a container: a probe that could not even open a socket says
// nothing about the container it was meant for.
#pragma once

#include <boost/system/error_code.hpp>

#include <cerrno>

namespace corral {

/// True for an errno that means "this process or host ran out of
/// something": EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL.
constexpr bool is_local_errno(int value) {
  return value == EMFILE || value == ENFILE || value == ENOBUFS || value == ENOMEM
         || value == EADDRNOTAVAIL;
}

/// The same for an Asio error (its system category carries the errno).
inline bool is_local_failure(const boost::system::error_code& ec) {
  return ec && ec.category() == boost::system::system_category() && is_local_errno(ec.value());
}

} // namespace corral
