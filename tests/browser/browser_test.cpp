// The Acts page through corral in headless Chromium: page.test.mjs (run by
// node with playwright-core) loads it from the proxy, creates a user and a
// category, uploads images, sees their thumbnails and upvotes one.
#include "tests/browser/browser_tools.hpp"
#include "tests/support/docker_env.hpp"
#include "tests/workload/acts_pool.hpp"
#include "tests/workload/program.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#ifndef BROWSER_SCREENSHOT
#  error "BROWSER_SCREENSHOT must name where the screenshot goes"
#endif

using namespace corral::test;
namespace fs = std::filesystem;

TEST(browser, acts_page_through_corral_uploads_shows_thumbnails_and_upvotes) {
  CORRAL_NEED_DOCKER();
  std::string node;
  CORRAL_NEED_BROWSER(node);

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
