// The memory one backend exchange needs, lent by its io thread.
#pragma once

#include <boost/beast/core/flat_buffer.hpp>

#include <cstddef>
#include <memory>

namespace corral::proxy {

/// What a session needs only while it talks to a backend: what it reads of
/// the answer, and a piece of body on its way to the client. An io thread
/// lends these for one exchange (io_thread::borrow_buffers), so an idle
/// keep-alive client holds none of it.
struct exchange_buffers {
  /// Reserved up front: a fresh flat_buffer grows from nothing and reads
  /// about 512 bytes per system call (DESIGN.md, pitfalls).
  static constexpr std::size_t backend_size = 16 * 1024;
  /// Answer body bytes relayed per read from the backend. As large as a
  /// loopback segment can be: with 16 KiB, a 1 MiB answer took 64 reads and
  /// 64 writes, and 1.7 times the TCP segments HAProxy's relay makes
  /// (docs/BENCHMARKS.md, run 4).
  static constexpr std::size_t relay_size = 64 * 1024;

  exchange_buffers() {
    backend.reserve(backend_size);
  }

  /// The answer's head, and whatever of its body came with it.
  boost::beast::flat_buffer backend;

  /// Later pieces of the body, read straight from the backend. Allocated at
  /// the first answer that needs it: most answers come whole with their
  /// head, and their exchanges never hold these 64 KiB.
  char* relay() {
    if (!relay_)
      relay_ = std::make_unique_for_overwrite<char[]>(relay_size);
    return relay_.get();
  }

private:
  std::unique_ptr<char[]> relay_;
};

} // namespace corral::proxy
