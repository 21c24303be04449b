// corral's dashboard in headless Chromium: dashboard.test.mjs (run by node
// with playwright-core) opens the admin listener's "/" while a pool of ten
// Acts containers takes a steady load, sees one row per running container,
// kills one through the Docker Engine API and sees its row change to the
// replacement; then it checks the page against a stand-in serving the whole
// /status contract, an outage and the older /status (see the script).
#include "tests/browser/browser_tools.hpp"
#include "tests/support/docker_env.hpp"
#include "tests/support/harness.hpp"
#include "tests/workload/program.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>

#ifndef DASHBOARD_SCREENSHOT
#  error "DASHBOARD_SCREENSHOT must name where the screenshot goes"
#endif

using namespace corral::test;
namespace fs = std::filesystem;

namespace {

/// Ports 30500-30599: proxy 30500, admin 30501, the pool from 30510.
constexpr uint16_t port_base = 30500;
/// The stand-in admin listener of the script's second part.
constexpr uint16_t standin_port = 30590;
/// Ten containers: the dashboard must stay readable with as many.
constexpr uint16_t pool_size = 10;

} // namespace

TEST(dashboard, shows_a_row_per_container_and_the_replacement_of_a_killed_one) {
  CORRAL_NEED_DOCKER();
  std::string node;
  CORRAL_NEED_BROWSER(node);

  auto pool = unique_name("wl-dashboard");
  auto ports = test_ports::from_base(port_base);
  // min = max: the scaler never changes the pool under the test.
  auto size = std::to_string(pool_size);
  corral_process corral{pool,
                        test_config(pool, ports,
                                    "min_containers = " + size + "\nmax_containers = " + size + "\n"),
                        ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  std::vector<uint16_t> container_ports;
  for (uint16_t i = 0; i < pool_size; ++i)
    container_ports.push_back(static_cast<uint16_t>(ports.pool_start + i));
  ASSERT_TRUE(corral.wait_pool(container_ports, 120s))
    << "the pool did not get " << pool_size << " ready containers:\n"
    << corral.log();

  // Traffic for the requests-per-second column and the chart: about 100
  // requests a second over the ten containers, light on a shared machine.
  load_generator load{ports.proxy_url("/api/v1/_health"), 2, 20ms};
  fs::remove(DASHBOARD_SCREENSHOT);
  auto run = run_program({node, BROWSER_TEST_DIR "/dashboard.test.mjs", ports.admin_url(""), pool,
                          docker_socket(), std::to_string(standin_port), DASHBOARD_SCREENSHOT},
                         200s);
  auto seen = load.stop();
  std::cout << run.output << "load: " << seen.summary() << '\n' << std::flush;
  EXPECT_EQ(run.exit_status, 0) << (run.exit_status < 0 ? "killed after 200 s\n" : "")
                                << run.output << corral.log();
  EXPECT_TRUE(fs::exists(DASHBOARD_SCREENSHOT));

  // The killed container was replaced, not just shown so: corral has the
  // whole pool again and Docker runs exactly one container per port.
  EXPECT_TRUE(corral.wait_pool(container_ports, 30s)) << corral.log();
  EXPECT_EQ(running_names(pool).size(), pool_size);
  EXPECT_EQ(corral.stop(), 0) << corral.log();
}
