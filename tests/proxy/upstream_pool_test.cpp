// The backend connection pool: liveness check, per-port limit, sweep.
#include "proxy/upstream_pool.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

namespace corral::proxy {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

/// A loopback listener whose accepted ends the test can close or write to.
class pool_test : public ::testing::Test {
protected:
  pool_test() : acceptor(ioc, {net::ip::address_v4::loopback(), 0}) {
  }

  uint16_t port() const {
    return acceptor.local_endpoint().port();
  }

  /// Connects to the listener; the accepted end goes to `peers`.
  upstream_pool::socket_type connect() {
    upstream_pool::socket_type client{ioc.get_executor()};
    client.connect(acceptor.local_endpoint());
    peers.push_back(acceptor.accept());
    return client;
  }

  net::io_context ioc;
  tcp::acceptor acceptor;
  std::vector<tcp::socket> peers;
};

TEST_F(pool_test, a_quiet_open_connection_is_reused) {
  upstream_pool pool{4};
  pool.release(port(), connect());
  upstream_pool::socket_type out{ioc.get_executor()};
  EXPECT_TRUE(pool.checkout(port(), out));
  EXPECT_TRUE(out.is_open());
  EXPECT_EQ(pool.idle(port()), 0u);
}

TEST_F(pool_test, nothing_pooled_for_a_port_means_no_checkout) {
  upstream_pool pool{4};
  upstream_pool::socket_type out{ioc.get_executor()};
  EXPECT_FALSE(pool.checkout(port(), out));
  EXPECT_FALSE(out.is_open());
}

TEST_F(pool_test, a_connection_the_backend_closed_is_discarded) {
  upstream_pool pool{4};
  pool.release(port(), connect());
  peers.back().close(); // the container stopped: FIN
  upstream_pool::socket_type out{ioc.get_executor()};
  EXPECT_FALSE(pool.checkout(port(), out));
  EXPECT_EQ(pool.idle(port()), 0u);
}

TEST_F(pool_test, a_connection_with_unexpected_bytes_is_discarded) {
  upstream_pool pool{4};
  pool.release(port(), connect());
  net::write(peers.back(), net::buffer("HTTP/1.1 408 Timeout\r\n\r\n", 25));
  upstream_pool::socket_type out{ioc.get_executor()};
  EXPECT_FALSE(pool.checkout(port(), out));
}

TEST_F(pool_test, checkout_skips_dead_connections_and_finds_a_live_one) {
  upstream_pool pool{4};
  pool.release(port(), connect()); // peers[0], stays open
  pool.release(port(), connect()); // peers[1], closed below
  peers[1].close();
  upstream_pool::socket_type out{ioc.get_executor()};
  ASSERT_TRUE(pool.checkout(port(), out));
  // The live one is the first connection: its peer is peers[0].
  EXPECT_EQ(out.local_endpoint(), peers[0].remote_endpoint());
}

// Unverified (idempotent requests retry instead): the latest connection is
// handed out as it is, dead or not, and drop() forgets the port's others.
TEST_F(pool_test, an_unverified_checkout_takes_the_latest_and_drop_forgets_the_rest) {
  upstream_pool pool{4};
  pool.release(port(), connect()); // peers[0]
  pool.release(port(), connect()); // peers[1], closed below
  auto latest = peers[1].remote_endpoint();
  peers[1].close();
  upstream_pool::socket_type out{ioc.get_executor()};
  ASSERT_TRUE(pool.checkout(port(), out, false));
  EXPECT_EQ(out.local_endpoint(), latest);
  EXPECT_EQ(pool.idle(port()), 1u);
  pool.drop(port());
  EXPECT_EQ(pool.idle(port()), 0u);
  upstream_pool::socket_type again{ioc.get_executor()};
  EXPECT_FALSE(pool.checkout(port(), again, false));
}

TEST_F(pool_test, at_most_max_idle_connections_are_kept_per_port) {
  upstream_pool pool{2};
  for (int i = 0; i < 3; ++i)
    pool.release(port(), connect());
  EXPECT_EQ(pool.idle(port()), 2u);
  EXPECT_EQ(pool.idle(port() + 1), 0u);
}

TEST_F(pool_test, sweep_closes_connections_their_backend_closed) {
  upstream_pool pool{4};
  pool.release(port(), connect());
  pool.release(port(), connect());
  peers[0].close();
  EXPECT_EQ(pool.sweep(), 1u);
  EXPECT_EQ(pool.idle(port()), 1u);
  peers[1].close();
  EXPECT_EQ(pool.sweep(), 1u);
  EXPECT_EQ(pool.idle(port()), 0u);
}

} // namespace
} // namespace corral::proxy
