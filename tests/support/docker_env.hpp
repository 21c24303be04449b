// Test helpers for Docker-dependent tests: skip or fail when no daemon answers.
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace corral::test {

/// The engine socket the tests use (DOCKER_SOCKET or /var/run/docker.sock).
std::string docker_socket();

/// True when the engine answers GET /_ping on its socket.
bool docker_available();

/// True when CORRAL_REQUIRE_DOCKER is set: then a missing daemon is a failure.
bool docker_required();

/// A name no other test run uses: `ctest-<prefix>-<pid>-<counter>`,
/// lowercase. Every test pool and volume is named so: the `ctest-` and the
/// pid let tests/support/sweep_test_pools.sh remove what a test that died
/// left behind, and nothing else.
std::string unique_name(const std::string& prefix);

} // namespace corral::test

/// Skips the test when no daemon answers, unless CORRAL_REQUIRE_DOCKER is set,
/// in which case the test fails: CI never passes by skipping.
#define CORRAL_NEED_DOCKER()                                                  \
  do {                                                                        \
    if (!::corral::test::docker_available()) {                                \
      if (::corral::test::docker_required())                                  \
        FAIL() << "CORRAL_REQUIRE_DOCKER is set but no Docker daemon answers " \
                  "on "                                                       \
               << ::corral::test::docker_socket();                            \
      GTEST_SKIP() << "no Docker daemon answers on "                          \
                   << ::corral::test::docker_socket();                        \
    }                                                                         \
  } while (false)
