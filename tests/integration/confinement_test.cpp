// Least privilege against the real daemon (issue 12): a pool container runs
// with every default confinement, and the Acts service still writes under
// them; a container past its memory limit is reported `oom` and replaced; a
// fork bomb fails inside its container and harms neither corral nor the host.
// Ports 31000-31099.
#include "tests/support/docker_env.hpp"
#include "tests/support/harness.hpp"
#include "tests/workload/acts_pool.hpp"

#include <boost/json.hpp>
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>

using namespace corral::test;
namespace json = boost::json;

namespace {

size_t append_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

/// GET `path` from the Engine API on the daemon's socket, parsed; null when
/// it did not answer 200 with JSON.
json::value engine_get(const std::string& path) {
  std::string body;
  CURL* curl = curl_easy_init();
  auto url = "http://localhost/v1.41" + path;
  auto socket = docker_socket();
  curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  long status = 0;
  if (curl_easy_perform(curl) == CURLE_OK)
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  boost::system::error_code ec;
  auto doc = json::parse(body, ec);
  return status == 200 && !ec ? doc : json::value{};
}

/// One line of /proc/<pid>/status ("CapEff", "NoNewPrivs", "Uid"), the
/// value after the tab; "" when missing.
std::string proc_status(int64_t pid, const std::string& key) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) {
      auto value = line.substr(key.size() + 1);
      auto first = value.find_first_not_of(" \t");
      return first == std::string::npos ? "" : value.substr(first);
    }
  return {};
}

/// The slot on `port` as /status shows it, if any.
std::optional<slot_view> slot_on(corral_process& corral, uint16_t port) {
  for (auto& s : corral.slots())
    if (s.port == port)
      return s;
  return std::nullopt;
}

/// True when /status's recent events hold `event` for the container whose id
/// starts like `id`.
bool status_has_event(corral_process& corral, const std::string& event, const std::string& id) {
  auto status = corral.status();
  if (!status.is_object() || !status.as_object().contains("events"))
    return false;
  for (auto& e : status.at("events").as_array()) {
    auto& o = e.as_object();
    if (o.at("event") == event.c_str()
        && id.rfind(std::string{o.at("container").as_string()}, 0) == 0
        && !o.at("container").as_string().empty())
      return true;
  }
  return false;
}

/// A config for a pool of corral-test-hog containers probed on "/".
std::string hog_config(const std::string& pool, const test_ports& ports,
                       const std::string& pool_extra) {
  auto toml = test_config(pool, ports, pool_extra,
                          "[health]\npath = \"/\"\n"
                          "[restart]\nbackoff = \"200ms\"\nmax_backoff = \"2s\"\n");
  toml.replace(toml.find("acts:latest"), 11, "corral-test-hog:latest");
  return toml;
}

} // namespace

TEST(confinement, acts_container_runs_with_every_default_and_still_writes) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(31000);
  auto pool = unique_name("confine-acts");
  // No [pool] confinement key: every default applies.
  corral_process corral{pool, test_config(pool, ports), ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  auto port = ports.pool_start;
  ASSERT_TRUE(corral.wait_pool({port}, 30s)) << corral.log();
  auto id = corral.container_on(port);
  ASSERT_FALSE(id.empty());

  auto doc = engine_get("/containers/" + id + "/json");
  ASSERT_TRUE(doc.is_object()) << "the engine did not describe " << id;
  auto& host = doc.at("HostConfig").as_object();
  EXPECT_EQ(host.at("CapDrop"), (json::array{"ALL"}));
  EXPECT_TRUE(host.at("CapAdd").is_null()
              || (host.at("CapAdd").is_array() && host.at("CapAdd").as_array().empty()))
    << host.at("CapAdd");
  EXPECT_EQ(host.at("SecurityOpt"), (json::array{"no-new-privileges"}));
  EXPECT_EQ(host.at("ReadonlyRootfs"), true);
  EXPECT_EQ(doc.at("Config").at("User"), "65534:65534");
  EXPECT_EQ(host.at("Memory").to_number<int64_t>(), 256 << 20);
  EXPECT_EQ(host.at("MemorySwap").to_number<int64_t>(), 256 << 20); // no swap on top
  EXPECT_EQ(host.at("NanoCpus").to_number<int64_t>(), 1'000'000'000);
  EXPECT_EQ(host.at("PidsLimit").to_number<int64_t>(), 256);
  EXPECT_EQ(host.at("LogConfig"),
            (json::object{{"Type", "json-file"},
                          {"Config", json::object{{"max-size", "10485760"}, {"max-file", "3"}}}}));

  // What the kernel applies to the running process, not only what was asked.
  auto pid = doc.at("State").at("Pid").to_number<int64_t>();
  ASSERT_GT(pid, 0);
  EXPECT_EQ(proc_status(pid, "CapEff"), "0000000000000000");
  EXPECT_EQ(proc_status(pid, "CapBnd"), "0000000000000000");
  EXPECT_EQ(proc_status(pid, "NoNewPrivs"), "1");
  EXPECT_EQ(proc_status(pid, "Uid").substr(0, 5), "65534");

  // The Acts service writes to SQLite on the volume under all of it.
  auto json_type = std::vector<std::string>{"Content-Type: application/json"};
  auto user = unique_name("u");
  auto category = unique_name("c");
  ASSERT_EQ(http("POST", ports.proxy_url("/api/v1/users"), user_body(user), json_type).status, 201);
  ASSERT_EQ(
    http("POST", ports.proxy_url("/api/v1/categories"), category_body(category), json_type).status,
    201);
  auto upload = http("POST", ports.proxy_url("/api/v1/acts"),
                     act_body(1, user, category, "confined", base64(random_bytes(4096, 12))),
                     json_type);
  EXPECT_EQ(upload.status, 201) << upload.body;
  EXPECT_EQ(json_count(http("GET", ports.proxy_url("/api/v1/acts/count")).body), 1);
  // The database on the fresh volume belongs to the unprivileged user.
  auto volume = engine_get("/volumes/" + pool + "-data");
  ASSERT_TRUE(volume.is_object());
  std::string mountpoint{volume.at("Mountpoint").as_string()};
  struct stat db {};
  ASSERT_EQ(::stat((mountpoint + "/acts.db").c_str(), &db), 0) << mountpoint;
  EXPECT_EQ(db.st_uid, 65534u);
  struct stat dir {};
  ASSERT_EQ(::stat(mountpoint.c_str(), &dir), 0);
  EXPECT_EQ(dir.st_uid, 65534u);
  EXPECT_EQ(corral.stop(), 0);
}

TEST(confinement, a_container_past_its_memory_limit_is_reported_oom_and_replaced) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(31020);
  auto pool = unique_name("confine-oom");
  corral_process corral{pool, hog_config(pool, ports, "memory = \"64MiB\"\n"), ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  auto port = ports.pool_start;
  ASSERT_TRUE(corral.wait_pool({port}, 20s)) << corral.log();
  auto old_id = corral.container_on(port);
  ASSERT_FALSE(old_id.empty());

  // The hog allocates until the kernel kills it: no answer comes.
  auto hog = http("POST", ports.container_url(port, "/alloc"), {}, {}, 10s);
  EXPECT_EQ(hog.status, 0) << hog.body;

  EXPECT_TRUE(wait_until(20s, [&] {
    auto s = slot_on(corral, port);
    return s && s->state == "ready" && !s->container.empty() && s->container != old_id;
  })) << corral.log();
  EXPECT_TRUE(status_has_event(corral, "oom", old_id)) << corral.status();
  auto s = slot_on(corral, port);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->restarts, 1u);
  auto metrics = corral.metrics();
  // One death, counted once: as oom, not also as a signal.
  EXPECT_EQ(metric_value(metrics, "corral_container_deaths_total{exit_class=\"oom\"}"), 1.0)
    << metrics;
  EXPECT_EQ(metric_value(metrics, "corral_container_deaths_total{exit_class=\"signal\"}"), 0.0);
  EXPECT_EQ(metric_value(metrics, "corral_container_events_total{event=\"oom\"}"), 1.0);
  auto log = corral.log();
  EXPECT_NE(log.find("out of memory"), std::string::npos) << log;
  EXPECT_EQ(http("GET", ports.proxy_url("/")).status, 200);
  EXPECT_EQ(corral.stop(), 0);
}

TEST(confinement, a_fork_bomb_fails_inside_its_container_and_harms_nothing_else) {
  CORRAL_NEED_DOCKER();
  auto ports = test_ports::from_base(31040);
  auto pool = unique_name("confine-fork");
  // The default pids limit (256).
  corral_process corral{pool, hog_config(pool, ports, ""), ports};
  ASSERT_TRUE(corral.start()) << corral.log();
  auto port = ports.pool_start;
  ASSERT_TRUE(corral.wait_pool({port}, 20s)) << corral.log();
  auto id = corral.container_on(port);

  auto bomb = http("POST", ports.container_url(port, "/fork"), {}, {}, 30s);
  ASSERT_EQ(bomb.status, 200) << bomb.error;
  // "forked N, then: Resource temporarily unavailable" with N below the limit.
  EXPECT_NE(bomb.body.find("then: Resource temporarily unavailable"), std::string::npos)
    << bomb.body;
  auto forked = std::stol(bomb.body.substr(std::string{"forked "}.size()));
  EXPECT_GT(forked, 0);
  EXPECT_LT(forked, 256);

  // The container, corral and the host carry on.
  EXPECT_EQ(http("GET", ports.container_url(port, "/")).status, 200);
  EXPECT_EQ(http("GET", ports.proxy_url("/")).status, 200);
  EXPECT_EQ(corral.container_on(port), id);
  EXPECT_EQ(corral.ready_ports(), (std::vector<uint16_t>{port}));
  EXPECT_EQ(http("GET", ports.admin_url("/healthz")).status, 200);
  EXPECT_EQ(shell("true"), 0); // the host still forks
  EXPECT_EQ(corral.stop(), 0);
}
