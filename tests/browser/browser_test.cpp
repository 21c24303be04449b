// The Acts page through corral in headless Chromium: page.test.mjs (run by
// node with playwright-core) loads it from the proxy, creates a user and a
// category, uploads images, sees their thumbnails and upvotes one.
#include "tests/support/docker_env.hpp"
#include "tests/workload/acts_pool.hpp"
#include "tests/workload/program.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <unistd.h>

#ifndef BROWSER_TEST_DIR
#  error "BROWSER_TEST_DIR must name tests/browser in the source tree"
#endif
#ifndef BROWSER_SCREENSHOT
#  error "BROWSER_SCREENSHOT must name where the screenshot goes"
#endif

using namespace corral::test;
namespace fs = std::filesystem;

namespace {

/// The first executable `name` on PATH, or "" when there is none.
std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs{path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin"};
  for (std::string dir; std::getline(dirs, dir, ':');) {
    auto candidate = fs::path{dir.empty() ? "." : dir} / name;
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate.string();
  }
  return {};
}

/// What is missing to run the browser, or "" when nothing is.
std::string missing_tools(const std::string& node, const std::string& chromium) {
  std::string missing;
  if (node.empty())
    missing += " node (not on PATH);";
  if (::access(chromium.c_str(), X_OK) != 0)
    missing += " " + chromium + ";";
  if (!fs::exists(fs::path{BROWSER_TEST_DIR} / "node_modules" / "playwright-core"))
    missing += " playwright-core (npm ci in " BROWSER_TEST_DIR ");";
  return missing;
}

} // namespace

TEST(browser, acts_page_through_corral_uploads_shows_thumbnails_and_upvotes) {
  CORRAL_NEED_DOCKER();
  auto node = find_on_path("node");
  const char* chromium_env = std::getenv("CHROMIUM");
  std::string chromium = chromium_env != nullptr ? chromium_env : "/usr/bin/chromium";
  if (auto missing = missing_tools(node, chromium); !missing.empty()) {
    // scripts/test installs them (ensure_browser_deps); a run that must not
    // skip fails instead.
    if (docker_required())
      FAIL() << "CORRAL_REQUIRE_DOCKER is set but the browser test lacks:" << missing;
    GTEST_SKIP() << "the browser test lacks:" << missing << " (scripts/test installs them)";
  }

  acts_pool pool{"wl-browser", 22100};
  auto problem = pool.start();
  ASSERT_TRUE(problem.empty()) << problem;

  fs::remove(BROWSER_SCREENSHOT);
  auto run = run_program({node, BROWSER_TEST_DIR "/page.test.mjs", pool.proxy_base(),
                          BROWSER_SCREENSHOT},
                         90s);
  std::cout << run.output << std::flush;
  EXPECT_EQ(run.exit_status, 0) << (run.exit_status < 0 ? "killed after 90 s\n" : "")
                                << run.output;
  EXPECT_TRUE(fs::exists(BROWSER_SCREENSHOT));

  // What the browser did went through corral to the shared database: every
  // container lists the three acts.
  for (auto port : pool.container_ports()) {
    auto size = pool.direct(port, "GET", "/api/v1/categories/corral%20demo/acts/size");
    EXPECT_EQ(json_count(size.body), 3) << port << ": " << size.body;
  }
  EXPECT_EQ(pool.stop(), 0) << pool.corral().log();
}
