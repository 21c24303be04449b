// The io thread's spare exchange buffers: reuse, and a bound on what a burst
// of large answers leaves behind.
#include "proxy/exchange_buffers.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string_view>
#include <vector>

namespace corral::proxy {
namespace {

using pool = exchange_buffer_pool;

/// Borrows n buffers, as n concurrent exchanges would; with_relay: each one
/// relays a large answer.
std::vector<std::unique_ptr<exchange_buffers>> borrow(pool& p, std::size_t n, bool with_relay) {
  std::vector<std::unique_ptr<exchange_buffers>> out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(p.borrow());
    if (with_relay)
      out.back()->relay()[0] = 'x';
  }
  return out;
}

void give_back_all(pool& p, std::vector<std::unique_ptr<exchange_buffers>>& lent) {
  for (auto& b : lent)
    p.give_back(std::move(b));
  lent.clear();
}

TEST(exchange_buffer_pool, a_small_answer_never_allocates_the_relay) {
  pool p;
  auto b = p.borrow();
  EXPECT_FALSE(b->has_relay());
  EXPECT_GE(b->backend.capacity(), exchange_buffers::backend_size);
}

TEST(exchange_buffer_pool, spares_are_lent_again_emptied_with_their_relay) {
  pool p;
  auto b = p.borrow();
  auto* first = b.get();
  char* relay = b->relay();
  auto text = std::string_view("HTTP/1.1 200 OK\r\n");
  auto room = b->backend.prepare(text.size());
  std::copy(text.begin(), text.end(), static_cast<char*>(room.data()));
  b->backend.commit(text.size());
  p.give_back(std::move(b));

  auto again = p.borrow();
  EXPECT_EQ(again.get(), first);
  EXPECT_EQ(again->backend.size(), 0u);
  ASSERT_TRUE(again->has_relay());
  EXPECT_EQ(again->relay(), relay);
  EXPECT_EQ(p.spares(), 0u);
}

TEST(exchange_buffer_pool, a_burst_of_large_answers_leaves_a_bounded_number_of_relays) {
  pool p;
  auto lent = borrow(p, 3 * pool::max_spare_relays, true);
  give_back_all(p, lent);
  EXPECT_EQ(p.spares(), 3 * pool::max_spare_relays);
  EXPECT_EQ(p.spare_relays(), pool::max_spare_relays);

  // The spares lent first are the ones without a relay; using them
  // allocates it again, and the bound still holds when they come back.
  lent = borrow(p, 3 * pool::max_spare_relays, true);
  for (auto& b : lent)
    EXPECT_TRUE(b->has_relay());
  give_back_all(p, lent);
  EXPECT_EQ(p.spare_relays(), pool::max_spare_relays);
}

TEST(exchange_buffer_pool, buffers_past_the_bound_are_freed) {
  pool p;
  auto lent = borrow(p, pool::max_spares + 10, false);
  give_back_all(p, lent);
  EXPECT_EQ(p.spares(), pool::max_spares);
  p.give_back(nullptr);
  EXPECT_EQ(p.spares(), pool::max_spares);
}

} // namespace
} // namespace corral::proxy
