// One corral per pool: the second to lock a pool is told who holds it, and a
// dead holder's lock never blocks anyone.
#include "app/pool_lock.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <sys/wait.h>
#include <unistd.h>

using namespace corral;

namespace {

std::string lock_dir() {
  return testing::TempDir() + "corral-locks-" + std::to_string(::getpid());
}

} // namespace

TEST(pool_lock, a_second_holder_is_refused_with_the_first_ones_name) {
  auto first = pool_lock::acquire(lock_dir(), "acts", "pid 111, admin 127.0.0.1:9090");
  ASSERT_TRUE(std::holds_alternative<pool_lock>(first)) << std::get<std::string>(first);
  auto second = pool_lock::acquire(lock_dir(), "acts", "pid 222");
  ASSERT_TRUE(std::holds_alternative<std::string>(second));
  EXPECT_EQ(std::get<std::string>(second),
            "pool acts is managed by another corral (pid 111, admin 127.0.0.1:9090); "
            "stop it first");
  // Another pool is another lock.
  EXPECT_TRUE(std::holds_alternative<pool_lock>(pool_lock::acquire(lock_dir(), "other", "x")));
  std::get<pool_lock>(first).release();
  EXPECT_TRUE(std::holds_alternative<pool_lock>(pool_lock::acquire(lock_dir(), "acts", "pid 3")));
}

TEST(pool_lock, a_dead_holders_lock_never_blocks_a_start) {
  auto child = ::fork();
  if (child == 0) {
    auto held = pool_lock::acquire(lock_dir(), "crashed", "pid of the child");
    // Dies holding it, without running any destructor.
    std::_Exit(std::holds_alternative<pool_lock>(held) ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  auto mine = pool_lock::acquire(lock_dir(), "crashed", "pid of the parent");
  EXPECT_TRUE(std::holds_alternative<pool_lock>(mine));
  std::filesystem::remove_all(lock_dir());
}

TEST(pool_lock, an_unusable_directory_is_one_clear_line) {
  auto refused = pool_lock::acquire("/proc/corral-cannot-be-here", "acts", "x");
  ASSERT_TRUE(std::holds_alternative<std::string>(refused));
  EXPECT_NE(std::get<std::string>(refused).find("cannot open the pool lock"), std::string::npos)
    << std::get<std::string>(refused);
}
