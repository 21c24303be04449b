// What the browser tests need besides Docker: node on PATH, Debian's Chromium
// and playwright-core installed in tests/browser (scripts/test installs them).
#pragma once

#include "tests/support/docker_env.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <unistd.h>

#ifndef BROWSER_TEST_DIR
#  error "BROWSER_TEST_DIR must name tests/browser in the source tree"
#endif

namespace corral::test {

/// The first executable `name` on PATH, or "" when there is none.
inline std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs{path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin"};
  for (std::string dir; std::getline(dirs, dir, ':');) {
    auto candidate = std::filesystem::path{dir.empty() ? "." : dir} / name;
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate.string();
  }
  return {};
}

/// Chromium as the tests run it: $CHROMIUM, else Debian's /usr/bin/chromium.
inline std::string chromium_path() {
  const char* chromium = std::getenv("CHROMIUM");
  return chromium != nullptr ? chromium : "/usr/bin/chromium";
}

/// What is missing to run the browser, or "" when nothing is.
inline std::string missing_browser_tools(const std::string& node, const std::string& chromium) {
  std::string missing;
  if (node.empty())
    missing += " node (not on PATH);";
  if (::access(chromium.c_str(), X_OK) != 0)
    missing += " " + chromium + ";";
  if (!std::filesystem::exists(std::filesystem::path{BROWSER_TEST_DIR} / "node_modules"
                               / "playwright-core"))
    missing += " playwright-core (npm ci in " BROWSER_TEST_DIR ");";
  return missing;
}

} // namespace corral::test

/// Finds node into `node_var`, or skips the test when a browser tool is
/// missing; a run that must not skip (CORRAL_REQUIRE_DOCKER) fails instead.
#define CORRAL_NEED_BROWSER(node_var)                                                    \
  do {                                                                                   \
    node_var = ::corral::test::find_on_path("node");                                     \
    if (auto missing = ::corral::test::missing_browser_tools(                            \
          node_var, ::corral::test::chromium_path());                                    \
        !missing.empty()) {                                                              \
      if (::corral::test::docker_required())                                             \
        FAIL() << "CORRAL_REQUIRE_DOCKER is set but the browser test lacks:" << missing; \
      GTEST_SKIP() << "the browser test lacks:" << missing                               \
                   << " (scripts/test installs them)";                                   \
    }                                                                                    \
  } while (false)
