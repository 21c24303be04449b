// What a starting corral does with an earlier run's containers: adopt the
// running ones on the pool's ports, remove the rest, each with its reason.
#include "actors/adoption.hpp"
#include "actors/container.hpp"

#include <gtest/gtest.h>

using namespace corral;

namespace {

constexpr uint64_t ours = 0xabc;
constexpr uint64_t theirs = 0xdef;

container_info container(std::string id, uint16_t port, container_status status,
                         uint64_t spec = ours, std::string name = {}) {
  container_info c;
  c.id = std::move(id);
  c.port = port;
  c.status = status;
  c.name = name.empty() ? "acts-" + std::to_string(port) : std::move(name);
  c.labels = {{labels::pool, "acts"}, {labels::port, std::to_string(port)}};
  if (spec != 0)
    c.labels[labels::spec] = spec_label(spec);
  return c;
}

std::vector<std::string> ids(const adoption_plan& plan) {
  std::vector<std::string> out;
  for (auto& a : plan.adopt)
    out.push_back(a.id + "@" + std::to_string(a.port));
  return out;
}

std::vector<std::string> removed(const adoption_plan& plan) {
  std::vector<std::string> out;
  for (auto& r : plan.remove)
    out.push_back(r.id + ": " + r.reason);
  return out;
}

} // namespace

TEST(adoption, running_containers_of_the_spec_on_the_pools_ports_are_adopted) {
  auto plan = plan_adoption({container("a", 8000, container_status::running),
                             container("b", 8001, container_status::running)},
                            "acts", 8000, 2, ours);
  EXPECT_EQ(ids(plan), (std::vector<std::string>{"a@8000", "b@8001"}));
  EXPECT_TRUE(plan.remove.empty());
  EXPECT_EQ(plan.adopt[0].spec, ours);
}

TEST(adoption, another_spec_is_adopted_for_the_rolling_update_to_replace) {
  auto plan = plan_adoption({container("a", 8000, container_status::running, theirs),
                             container("b", 8001, container_status::running, 0)},
                            "acts", 8000, 2, ours);
  ASSERT_EQ(plan.adopt.size(), 2u);
  EXPECT_EQ(plan.adopt[0].spec, theirs);
  EXPECT_EQ(plan.adopt[1].spec, 0u); // an older corral's, without the label
  EXPECT_TRUE(plan.remove.empty());
}

TEST(adoption, exited_ones_are_removed) {
  auto plan = plan_adoption({container("a", 8000, container_status::exited),
                             container("b", 8001, container_status::created)},
                            "acts", 8000, 2, ours);
  EXPECT_TRUE(plan.adopt.empty());
  EXPECT_EQ(removed(plan), (std::vector<std::string>{"a: not running (exited)",
                                                     "b: not running (created)"}));
}

TEST(adoption, ports_beyond_the_size_it_wants_are_removed) {
  auto plan = plan_adoption({container("a", 8000, container_status::running),
                             container("b", 8002, container_status::running),
                             container("c", 7999, container_status::running)},
                            "acts", 8000, 2, ours);
  EXPECT_EQ(ids(plan), (std::vector<std::string>{"a@8000"}));
  EXPECT_EQ(removed(plan),
            (std::vector<std::string>{"b: port 8002 is beyond the pool's 2 container(s) from 8000",
                                      "c: port 7999 is beyond the pool's 2 container(s) from 8000"}));
}

TEST(adoption, a_second_container_for_a_port_is_removed_keeping_the_pools_spec) {
  auto plan = plan_adoption({container("old", 8000, container_status::running, theirs),
                             container("new", 8000, container_status::running, ours),
                             container("dup", 8000, container_status::running, ours)},
                            "acts", 8000, 1, ours);
  EXPECT_EQ(ids(plan), (std::vector<std::string>{"new@8000"}));
  EXPECT_EQ(removed(plan), (std::vector<std::string>{"old: a second container for port 8000",
                                                     "dup: a second container for port 8000"}));
}

TEST(adoption, renamed_and_unlabelled_containers_are_removed) {
  auto gone = container("g", 8000, container_status::running, ours, "acts-8000-gone-123456789abc");
  auto unlabelled = container("u", 0, container_status::running);
  auto plan = plan_adoption({gone, unlabelled}, "acts", 8000, 1, ours);
  EXPECT_TRUE(plan.adopt.empty());
  EXPECT_EQ(removed(plan),
            (std::vector<std::string>{"g: renamed on its way out (acts-8000-gone-123456789abc)",
                                      "u: no corral.port label"}));
}

TEST(spec_fingerprint, differs_for_every_setting_that_matters_and_not_for_env_order) {
  container_spec a;
  a.image = "sha256:1";
  a.env = {"A=1", "B=2"};
  a.volume = "v";
  a.volume_path = "/data";
  auto base = spec_fingerprint(a);
  auto with = [&](auto change) {
    auto b = a;
    change(b);
    return spec_fingerprint(b);
  };
  EXPECT_EQ(with([](container_spec& s) { s.env = {"B=2", "A=1"}; }), base);
  EXPECT_EQ(with([](container_spec& s) { s.name = "other-8001"; s.port = 8001; }), base);
  EXPECT_NE(with([](container_spec& s) { s.image = "sha256:2"; }), base);
  EXPECT_NE(with([](container_spec& s) { s.env.push_back("C=3"); }), base);
  EXPECT_NE(with([](container_spec& s) { s.volume = "w"; }), base);
  EXPECT_NE(with([](container_spec& s) { s.volume_path = "/srv"; }), base);
  EXPECT_NE(with([](container_spec& s) { s.init = true; }), base);
  EXPECT_NE(with([](container_spec& s) { s.stop_timeout = std::chrono::seconds{9}; }), base);
  EXPECT_NE(with([](container_spec& s) { s.cap_drop = {"ALL"}; }), base);
  EXPECT_NE(with([](container_spec& s) { s.cap_add = {"NET_RAW"}; }), base);
  EXPECT_NE(with([](container_spec& s) { s.no_new_privileges = true; }), base);
  EXPECT_NE(with([](container_spec& s) { s.read_only = true; }), base);
  EXPECT_NE(with([](container_spec& s) { s.tmpfs = {"/tmp"}; }), base);
  EXPECT_NE(with([](container_spec& s) { s.user = "65534:65534"; }), base);
  EXPECT_NE(with([](container_spec& s) { s.memory = 256u << 20; }), base);
  EXPECT_NE(with([](container_spec& s) { s.nano_cpus = 1'000'000'000; }), base);
  EXPECT_NE(with([](container_spec& s) { s.pids = 256; }), base);
  EXPECT_NE(with([](container_spec& s) { s.log_max_size = 10u << 20; }), base);
  EXPECT_NE(with([](container_spec& s) { s.log_max_files = 5; }), base);
  EXPECT_EQ(parse_spec_label({{labels::spec, spec_label(base)}}), base);
  EXPECT_EQ(parse_spec_label({{labels::spec, "not-hex-at-all!"}}), 0u);
  EXPECT_EQ(parse_spec_label({}), 0u);
}

TEST(make_container_spec, confines_by_default_and_carries_every_override) {
  pool_settings pool;
  auto spec = make_container_spec(pool, "sha256:1", "me", 8000);
  EXPECT_EQ(spec.cap_drop, (std::vector<std::string>{"ALL"}));
  EXPECT_TRUE(spec.cap_add.empty());
  EXPECT_TRUE(spec.no_new_privileges);
  EXPECT_TRUE(spec.read_only);
  EXPECT_TRUE(spec.tmpfs.empty());
  EXPECT_EQ(spec.user, "65534:65534");
  EXPECT_EQ(spec.memory, 256u << 20);
  EXPECT_EQ(spec.nano_cpus, 1'000'000'000);
  EXPECT_EQ(spec.pids, 256u);
  EXPECT_EQ(spec.log_max_size, 10u << 20);
  EXPECT_EQ(spec.log_max_files, 3u);

  pool.cap_drop = {};
  pool.cap_add = {"NET_BIND_SERVICE"};
  pool.no_new_privileges = false;
  pool.read_only = false;
  pool.tmpfs = {"/tmp"};
  pool.user = "";
  pool.memory = 0;
  pool.cpus = 0.25;
  pool.pids = 0;
  pool.log_max_size = 1u << 20;
  pool.log_max_files = 1;
  auto loose = make_container_spec(pool, "sha256:1", "me", 8000);
  EXPECT_TRUE(loose.cap_drop.empty());
  EXPECT_EQ(loose.cap_add, (std::vector<std::string>{"NET_BIND_SERVICE"}));
  EXPECT_FALSE(loose.no_new_privileges);
  EXPECT_FALSE(loose.read_only);
  EXPECT_EQ(loose.tmpfs, (std::vector<std::string>{"/tmp"}));
  EXPECT_EQ(loose.user, "");
  EXPECT_EQ(loose.memory, 0u);
  EXPECT_EQ(loose.nano_cpus, 250'000'000);
  EXPECT_EQ(loose.pids, 0u);
  EXPECT_EQ(loose.log_max_size, 1u << 20);
  EXPECT_EQ(loose.log_max_files, 1u);
  // A changed confinement is a different spec: a reload rolls the pool.
  EXPECT_NE(parse_spec_label(loose.labels), parse_spec_label(spec.labels));
  EXPECT_EQ(parse_spec_label(spec.labels), spec_fingerprint(spec));
}
