// Reloading and rolling out against the real daemon: SIGHUP with a broken
// file changes nothing, with new settings applies them; a rebuilt image under
// the same tag rolls out with no failed request, one that cannot start rolls
// back; and corral itself is replaced (--takeover) under load, keeping every
// container.
#include "tests/support/docker_env.hpp"
#include "tests/support/harness.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <set>

using namespace corral::test;

namespace {

std::vector<uint16_t> ports_from(uint16_t first, uint16_t count) {
  std::vector<uint16_t> ports;
  for (uint16_t i = 0; i < count; ++i)
    ports.push_back(static_cast<uint16_t>(first + i));
  return ports;
}

/// A tag of the test's own for the pool's image, removed at the end.
class test_image {
public:
  explicit test_image(std::string tag) : tag_(std::move(tag)) {
    point_at("acts:latest");
  }
  ~test_image() {
    shell("docker rmi -f " + tag_ + " >/dev/null 2>&1");
  }

  /// Tags `source` as this image.
  void point_at(const std::string& source) {
    EXPECT_EQ(shell("docker tag " + source + " " + tag_), 0);
  }

  /// Builds a new image (a new ID) under the same tag, from acts:latest:
  /// what `scripts/build-images` after a change does.
  void rebuild(const std::string& version) {
    EXPECT_EQ(shell("printf 'FROM acts:latest\\nLABEL corral.test.version=" + version
                    + "\\n' | docker build -q -t " + tag_ + " - >/dev/null"),
              0);
  }

  /// The image ID the tag names now.
  std::string id() const {
    std::string out;
    auto* pipe = ::popen(("docker image inspect -f '{{.Id}}' " + tag_).c_str(), "r");
    char buf[128];
    while (pipe != nullptr && std::fgets(buf, sizeof buf, pipe) != nullptr)
      out += buf;
    if (pipe != nullptr)
      ::pclose(pipe);
    while (!out.empty() && out.back() == '\n')
      out.pop_back();
    return out;
  }

  const std::string& tag() const {
    return tag_;
  }

private:
  std::string tag_;
};

/// The pool's rollout state from /status.
std::string rollout_state(corral_process& corral) {
  auto status = corral.status();
  if (!status.is_object())
    return {};
  return std::string{status.at("pool").at("rollout").at("state").as_string()};
}

/// True when every slot runs the pool's current spec and is ready.
bool all_on_current_spec(corral_process& corral, size_t size) {
  auto status = corral.status();
  if (!status.is_object())
    return false;
  auto& pool = status.at("pool");
  auto spec = pool.at("spec").as_string();
  auto& slots = pool.at("slots").as_array();
  if (slots.size() != size)
    return false;
  for (auto& s : slots)
    if (s.at("spec").as_string() != spec || s.at("state").as_string() != "ready")
      return false;
  return true;
}

/// Rebuilds the image under its tag and reloads: the pool rolls to it under
/// load with no failed request, ending on its own ports with new containers.
void roll_under_load(uint16_t base, uint16_t size) {
  auto ports = test_ports::from_base(base);
  auto pool = unique_name("roll-" + std::to_string(size));
  test_image image{pool + "-img:latest"};
  auto toml = test_config(pool, ports, "min_containers = " + std::to_string(size) + "\n")
              + "";
  // The pool's image is the test's own tag.
  auto at = toml.find("acts:latest");
  toml.replace(at, 11, image.tag());
  corral_process corral{pool, toml, ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  auto home = ports_from(ports.pool_start, size);
  ASSERT_TRUE(corral.wait_pool(home, 20s)) << corral.log();
  std::set<std::string> old_ids;
  for (auto& s : corral.slots())
    old_ids.insert(s.container);

  load_generator load{ports.proxy_url("/api/v1/categories"), 2, 5ms};
  ASSERT_TRUE(wait_until(5s, [&] { return load.answered() > 20; }));
  image.rebuild("2");
  auto new_id = image.id();
  corral.signal(SIGHUP);
  ASSERT_TRUE(wait_until(60s, [&] {
    return rollout_state(corral) == "done" && all_on_current_spec(corral, size);
  })) << corral.log();
  auto answered = load.answered();
  ASSERT_TRUE(wait_until(5s, [&] { return load.answered() > answered + 20; }));
  auto seen = load.stop();
  EXPECT_EQ(seen.failed(), 0u) << seen.summary() << "\n" << corral.log();
  // Every container is new, on the new image, and the ports are the same.
  EXPECT_EQ(corral.ready_ports(), home);
  auto status = corral.status();
  EXPECT_EQ(status.at("pool").at("image_id").as_string(), new_id);
  for (auto& s : corral.slots())
    EXPECT_EQ(old_ids.count(s.container), 0u) << s.port;
  EXPECT_EQ(running_names(pool).size(), size);
  EXPECT_EQ(corral.stop(), 0);
}

} // namespace

TEST(reload, a_broken_file_changes_nothing_and_names_the_line) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(30240);
  auto pool = unique_name("reload-broken");
  corral_process corral{pool, test_config(pool, ports), ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  ASSERT_TRUE(corral.wait_pool({ports.pool_start}, 20s)) << corral.log();
  auto container = corral.container_on(ports.pool_start);
  // Line 4 holds the mistake.
  corral.rewrite_config("[proxy]\nlisten = \"127.0.0.1:" + std::to_string(ports.proxy)
                        + "\"\n[pool]\nmin_containers = \"three\"\n");
  corral.signal(SIGHUP);
  ASSERT_TRUE(wait_until(5s, [&] {
    return corral.log().find("reload refused") != std::string::npos;
  })) << corral.log();
  auto log = corral.log();
  auto line_at = log.find("reload refused");
  auto line = log.substr(line_at, log.find('\n', line_at) - line_at);
  EXPECT_NE(line.find(":4:"), std::string::npos) << line;
  EXPECT_NE(line.find("min_containers"), std::string::npos) << line;
  EXPECT_TRUE(corral.running());
  EXPECT_EQ(http("GET", ports.proxy_url("/api/v1/categories")).status, 204);
  EXPECT_EQ(corral.container_on(ports.pool_start), container);
  EXPECT_EQ(corral.stop(), 0);
}

TEST(reload, a_new_scaling_interval_and_max_apply_at_once) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(30260);
  auto pool = unique_name("reload-apply");
  corral_process corral{pool, test_config(pool, ports), ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  ASSERT_TRUE(corral.wait_pool({ports.pool_start}, 20s)) << corral.log();
  corral.rewrite_config(test_config(pool, ports, "max_containers = 2\n",
                                    "[scaling]\ninterval = \"1s\"\nstart = \"startup\"\n"
                                    "[log]\nformat = \"json\"\n"));
  corral.signal(SIGHUP);
  ASSERT_TRUE(wait_until(5s, [&] {
    auto status = corral.status();
    return status.is_object() && status.at("pool").at("max").to_number<int64_t>() == 2
           && status.at("scaler").at("interval_ms").to_number<int64_t>() == 1000;
  })) << corral.log();
  // Applied, not just shown: 100 requests in a 1 s window want 6, the new
  // max holds it at 2.
  http_client client;
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(client.get(ports.proxy_url("/api/v1/categories")).status, 204);
  EXPECT_TRUE(corral.wait_pool(ports_from(ports.pool_start, 2), 10s)) << corral.log();
  // The log format changed with the reload: the line saying so is JSON.
  auto log = corral.log();
  auto reloaded = log.find("\"msg\":\"reloaded\"");
  ASSERT_NE(reloaded, std::string::npos) << log;
  EXPECT_EQ(log.rfind("\n{\"ts\":", reloaded) + 1, log.rfind('\n', reloaded) + 1) << log;
  EXPECT_EQ(corral.stop(), 0);
}

TEST(reload, keys_that_need_a_restart_are_refused_in_one_line_and_the_rest_applies) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(30280);
  auto pool = unique_name("reload-restart");
  corral_process corral{pool, test_config(pool, ports), ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  ASSERT_TRUE(corral.wait_pool({ports.pool_start}, 20s)) << corral.log();
  auto moved = ports;
  moved.proxy = static_cast<uint16_t>(ports.proxy + 5);
  corral.rewrite_config(test_config(pool, moved, "max_containers = 3\n"));
  corral.signal(SIGHUP);
  ASSERT_TRUE(wait_until(5s, [&] {
    return corral.log().find("need a restart") != std::string::npos;
  })) << corral.log();
  EXPECT_NE(corral.log().find("[proxy] listen"), std::string::npos);
  EXPECT_TRUE(wait_until(5s, [&] {
    auto status = corral.status();
    return status.is_object() && status.at("pool").at("max").to_number<int64_t>() == 3;
  }));
  // Still on the old address.
  EXPECT_EQ(http("GET", ports.proxy_url("/api/v1/categories")).status, 204);
  EXPECT_EQ(corral.stop(), 0);
}

TEST(rollout, a_rebuilt_image_rolls_out_to_a_pool_of_one_with_no_failed_request) {
  CORRAL_NEED_DOCKER();
  roll_under_load(30300, 1);
}

TEST(rollout, a_rebuilt_image_rolls_out_to_a_pool_of_three_with_no_failed_request) {
  CORRAL_NEED_DOCKER();
  roll_under_load(30320, 3);
}

TEST(rollout, an_image_that_cannot_start_rolls_back_with_no_failed_request) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(30340);
  auto pool = unique_name("roll-back");
  test_image image{pool + "-img:latest"};
  auto toml = test_config(pool, ports, "min_containers = 2\n");
  toml.replace(toml.find("acts:latest"), 11, image.tag());
  corral_process corral{pool, toml, ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  auto home = ports_from(ports.pool_start, 2);
  ASSERT_TRUE(corral.wait_pool(home, 20s)) << corral.log();
  auto good_id = image.id();
  std::map<uint16_t, std::string> before;
  for (auto& s : corral.slots())
    before[s.port] = s.container;

  load_generator load{ports.proxy_url("/api/v1/categories"), 2, 5ms};
  // The new version exits at once.
  image.point_at("corral-test-exit-now:latest");
  corral.signal(SIGHUP);
  ASSERT_TRUE(wait_until(30s, [&] { return rollout_state(corral) == "rolled_back"; }))
    << corral.log();
  ASSERT_TRUE(wait_until(30s, [&] { return all_on_current_spec(corral, 2); })) << corral.log();
  auto answered = load.answered();
  ASSERT_TRUE(wait_until(5s, [&] { return load.answered() > answered + 20; }));
  auto seen = load.stop();
  EXPECT_EQ(seen.failed(), 0u) << seen.summary();
  auto status = corral.status();
  auto& pool_status = status.at("pool");
  EXPECT_EQ(pool_status.at("image_id").as_string(), good_id);
  EXPECT_FALSE(pool_status.at("rollout").at("failure").as_string().empty());
  // The old containers never stopped serving.
  for (auto& s : corral.slots())
    EXPECT_EQ(s.container, before[s.port]) << s.port;
  auto log = corral.log();
  size_t lines = 0;
  for (auto at = log.find("rollout failed"); at != std::string::npos;
       at = log.find("rollout failed", at + 1))
    ++lines;
  EXPECT_EQ(lines, 1u) << log;
  EXPECT_EQ(corral.stop(), 0);
}

TEST(upgrade, a_successor_takes_over_under_load_with_no_failed_request_and_no_restart) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(30360);
  auto pool = unique_name("upgrade");
  auto toml = test_config(pool, ports, "min_containers = 3\n");
  corral_process old{pool, toml, ports};
  ASSERT_TRUE(old.start()) << old.log();
  auto three = ports_from(ports.pool_start, 3);
  ASSERT_TRUE(old.wait_pool(three, 20s)) << old.log();
  std::map<uint16_t, std::string> before;
  for (auto& s : old.slots())
    before[s.port] = s.container;

  load_generator load{ports.proxy_url("/api/v1/categories"), 2, 2ms};
  ASSERT_TRUE(wait_until(5s, [&] { return load.answered() > 50; }));
  auto upgraded_at = unix_seconds();
  corral_process successor{pool, toml, ports, {}, "successor"};
  ASSERT_TRUE(successor.start(30s, {"--takeover"})) << successor.log();
  // The old process drains and exits by itself, leaving the pool.
  EXPECT_EQ(old.wait_exit(30s), 0) << old.log();
  ASSERT_TRUE(successor.wait_pool(three, 10s)) << successor.log();
  auto answered = load.answered();
  ASSERT_TRUE(wait_until(5s, [&] { return load.answered() > answered + 50; }));
  auto seen = load.stop();
  EXPECT_EQ(seen.failed(), 0u) << seen.summary() << "\nold:\n" << old.log() << "\nnew:\n"
                               << successor.log();
  for (auto& s : successor.slots())
    EXPECT_EQ(s.container, before[s.port]) << s.port;
  EXPECT_EQ(pool_events_since(pool, upgraded_at, "create"), 0);
  EXPECT_EQ(pool_events_since(pool, upgraded_at, "die"), 0);
  EXPECT_NE(successor.log().find("took the pool over"), std::string::npos);
  EXPECT_EQ(successor.stop(), 0);
  EXPECT_TRUE(running_names(pool).empty());
}
