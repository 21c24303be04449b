// The memory one backend exchange needs, lent by its io thread.
#pragma once

#include <boost/beast/core/flat_buffer.hpp>

#include <cstddef>
#include <memory>
#include <vector>

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

  bool has_relay() const {
    return relay_ != nullptr;
  }

  /// Gives the relay buffer's memory back; relay() allocates it again.
  void drop_relay() {
    relay_.reset();
  }

private:
  std::unique_ptr<char[]> relay_;
};

/// The spare exchange buffers of one io thread. After warm-up an exchange
/// allocates none, and an idle keep-alive client holds none.
class exchange_buffer_pool {
public:
  /// Spares kept at most; buffers given back past it are freed.
  static constexpr std::size_t max_spares = 1024;
  /// Spares that keep their relay buffer. The others give it up, so that a
  /// burst of large answers leaves at most this many relays (64 KiB each)
  /// behind, not one per exchange of the burst.
  static constexpr std::size_t max_spare_relays = 64;

  /// Spare buffers, emptied, or fresh ones.
  std::unique_ptr<exchange_buffers> borrow() {
    if (spares_.empty())
      return std::make_unique<exchange_buffers>();
    auto buffers = std::move(spares_.back());
    spares_.pop_back();
    buffers->backend.clear();
    return buffers;
  }

  /// Takes lent buffers back (null is fine). Spares are lent last in, first
  /// out, so only the bottom max_spare_relays of them ever hold a relay.
  void give_back(std::unique_ptr<exchange_buffers> buffers) {
    if (!buffers || spares_.size() >= max_spares)
      return;
    if (spares_.size() >= max_spare_relays)
      buffers->drop_relay();
    spares_.push_back(std::move(buffers));
  }

  std::size_t spares() const {
    return spares_.size();
  }

  /// Spares that hold a relay buffer.
  std::size_t spare_relays() const {
    std::size_t n = 0;
    for (const auto& b : spares_)
      n += b->has_relay() ? 1 : 0;
    return n;
  }

private:
  std::vector<std::unique_ptr<exchange_buffers>> spares_;
};

} // namespace corral::proxy
