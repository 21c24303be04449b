// Which failures are corral's own (issue 11, "blame only the guilty"): the
// errno classification every layer uses, and what a Docker call that could
// not open its socket becomes.
#include "runtime/docker_runtime.hpp"
#include "runtime/local_failure.hpp"

#include <boost/asio/error.hpp>

#include <gtest/gtest.h>

#include <cerrno>

using namespace corral;

TEST(local_failure, running_out_of_descriptors_memory_or_ports_is_local) {
  for (int e : {EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL})
    EXPECT_TRUE(is_local_errno(e)) << e;
}

TEST(local_failure, what_the_other_end_did_is_not_local) {
  for (int e : {0, ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE, EHOSTUNREACH, ENOENT, EACCES})
    EXPECT_FALSE(is_local_errno(e)) << e;
}

TEST(local_failure, asio_errors_are_judged_by_their_errno_only_in_the_system_category) {
  using boost::system::error_code;
  EXPECT_TRUE(is_local_failure(error_code{EMFILE, boost::system::system_category()}));
  EXPECT_TRUE(is_local_failure(boost::asio::error::no_descriptors));
  EXPECT_TRUE(is_local_failure(boost::asio::error::no_buffer_space));
  EXPECT_FALSE(is_local_failure(boost::asio::error::connection_refused));
  EXPECT_FALSE(is_local_failure(boost::asio::error::timed_out));
  EXPECT_FALSE(is_local_failure(error_code{}));
  // The same number in another category (here: end of file in Asio's misc
  // category) says nothing about corral's resources.
  EXPECT_FALSE(is_local_failure(error_code{EMFILE, boost::asio::error::get_misc_category()}));
}

TEST(local_failure, a_docker_call_without_a_socket_blames_corral_not_the_daemon) {
  auto local = transport_failure("Couldn't connect to server", EMFILE, false, "/run/d.sock");
  EXPECT_EQ(local.code, runtime_errc::local_resources);
  EXPECT_NE(local.message.find("out of resources itself"), std::string::npos) << local.message;
  EXPECT_TRUE(retryable(local));
  auto away = transport_failure("Couldn't connect to server", ECONNREFUSED, false, "/run/d.sock");
  EXPECT_EQ(away.code, runtime_errc::daemon_unreachable);
  EXPECT_NE(away.message.find("is dockerd running?"), std::string::npos) << away.message;
  auto slow = transport_failure("Timeout was reached", 0, true, "/run/d.sock");
  EXPECT_EQ(slow.code, runtime_errc::timeout);
  EXPECT_STREQ(to_string(runtime_errc::local_resources), "local_resources");
}
