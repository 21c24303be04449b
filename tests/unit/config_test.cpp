// Loading and validating the TOML config: defaults, every key, every kind of
// bad file (each names file, line, column and key).
#include "app/config.hpp"

#include <gtest/gtest.h>

#include <fstream>

using namespace corral;
using namespace std::chrono_literals;

namespace {

config parse_ok(const std::string& text) {
  auto result = parse_config(text, "test.toml");
  if (auto* err = std::get_if<config_error>(&result)) {
    ADD_FAILURE() << err->render();
    return {};
  }
  return std::get<config>(result);
}

config_error parse_bad(const std::string& text) {
  auto result = parse_config(text, "test.toml");
  if (auto* err = std::get_if<config_error>(&result))
    return *err;
  ADD_FAILURE() << "accepted: " << text;
  return {};
}

} // namespace

TEST(config, empty_file_gives_the_defaults) {
  auto cfg = parse_ok("");
  EXPECT_EQ(cfg.proxy.listen.host, "127.0.0.1");
  EXPECT_EQ(cfg.proxy.listen.port, 8080);
  EXPECT_EQ(cfg.proxy.max_body, 16u << 20);
  EXPECT_EQ(cfg.admin.listen.port, 9090);
  EXPECT_EQ(cfg.pool.name, "acts");
  EXPECT_EQ(cfg.pool.image, "acts:latest");
  EXPECT_EQ(cfg.pool.start_port, 8000);
  EXPECT_EQ(cfg.pool.min_containers, 1u);
  EXPECT_EQ(cfg.pool.max_containers, 10u);
  EXPECT_EQ(cfg.pool.volume, "acts-data");
  EXPECT_EQ(cfg.pool.volume_path, "/data");
  EXPECT_EQ(cfg.pool.on_exit, exit_policy::remove);
  // Least privilege unless the file says otherwise.
  EXPECT_EQ(cfg.pool.cap_drop, (std::vector<std::string>{"ALL"}));
  EXPECT_TRUE(cfg.pool.cap_add.empty());
  EXPECT_TRUE(cfg.pool.no_new_privileges);
  EXPECT_TRUE(cfg.pool.read_only);
  EXPECT_TRUE(cfg.pool.tmpfs.empty());
  EXPECT_EQ(cfg.pool.user, "65534:65534");
  EXPECT_EQ(cfg.pool.memory, 256u << 20);
  EXPECT_EQ(cfg.pool.cpus, 1.0);
  EXPECT_EQ(cfg.pool.pids, 256u);
  EXPECT_EQ(cfg.pool.log_max_size, 10u << 20);
  EXPECT_EQ(cfg.pool.log_max_files, 3u);
  EXPECT_EQ(cfg.health.path, "/api/v1/_health");
  EXPECT_EQ(cfg.health.interval, 1s);
  EXPECT_EQ(cfg.health.timeout, 500ms);
  EXPECT_EQ(cfg.scaling.interval, 120s);
  EXPECT_EQ(cfg.scaling.requests_per_container, 20u);
  EXPECT_EQ(cfg.scaling.start, scaling_start::first_request);
  EXPECT_EQ(cfg.docker.socket, "/var/run/docker.sock");
  EXPECT_EQ(cfg.log_level, log::level::info);
  EXPECT_EQ(cfg.log_format, log::format::text);
}

// The shipped file documents every key with its default: parsing it must
// give exactly the built-in defaults, or the documentation lies.
TEST(config, shipped_corral_toml_is_valid_and_matches_the_defaults) {
  auto result = load_config(CORRAL_SOURCE_DIR "/conf/corral.toml");
  ASSERT_TRUE(std::holds_alternative<config>(result))
    << std::get<config_error>(result).render();
  auto& cfg = std::get<config>(result);
  config defaults;
  EXPECT_EQ(cfg.proxy.listen.port, defaults.proxy.listen.port);
  EXPECT_EQ(cfg.proxy.max_body, defaults.proxy.max_body);
  EXPECT_EQ(cfg.proxy.retries, defaults.proxy.retries);
  EXPECT_EQ(cfg.proxy.threads, defaults.proxy.threads);
  EXPECT_EQ(cfg.proxy.connect_timeout, defaults.proxy.connect_timeout);
  EXPECT_EQ(cfg.proxy.backend_timeout, defaults.proxy.backend_timeout);
  EXPECT_EQ(cfg.proxy.client_timeout, defaults.proxy.client_timeout);
  EXPECT_EQ(cfg.proxy.shutdown_timeout, defaults.proxy.shutdown_timeout);
  EXPECT_EQ(cfg.proxy.max_idle_per_backend, defaults.proxy.max_idle_per_backend);
  EXPECT_EQ(cfg.admin.listen.port, defaults.admin.listen.port);
  EXPECT_EQ(cfg.pool.name, defaults.pool.name);
  EXPECT_EQ(cfg.pool.image, defaults.pool.image);
  EXPECT_EQ(cfg.pool.start_port, defaults.pool.start_port);
  EXPECT_EQ(cfg.pool.min_containers, defaults.pool.min_containers);
  EXPECT_EQ(cfg.pool.max_containers, defaults.pool.max_containers);
  EXPECT_EQ(cfg.pool.env, defaults.pool.env);
  EXPECT_EQ(cfg.pool.volume, defaults.pool.volume);
  EXPECT_EQ(cfg.pool.volume_path, defaults.pool.volume_path);
  EXPECT_EQ(cfg.pool.on_exit, defaults.pool.on_exit);
  EXPECT_EQ(cfg.pool.stop_timeout, defaults.pool.stop_timeout);
  EXPECT_EQ(cfg.pool.init, defaults.pool.init);
  EXPECT_EQ(cfg.pool.run_dir, defaults.pool.run_dir);
  EXPECT_EQ(cfg.pool.cap_drop, defaults.pool.cap_drop);
  EXPECT_EQ(cfg.pool.cap_add, defaults.pool.cap_add);
  EXPECT_EQ(cfg.pool.no_new_privileges, defaults.pool.no_new_privileges);
  EXPECT_EQ(cfg.pool.read_only, defaults.pool.read_only);
  EXPECT_EQ(cfg.pool.tmpfs, defaults.pool.tmpfs);
  EXPECT_EQ(cfg.pool.user, defaults.pool.user);
  EXPECT_EQ(cfg.pool.memory, defaults.pool.memory);
  EXPECT_EQ(cfg.pool.cpus, defaults.pool.cpus);
  EXPECT_EQ(cfg.pool.pids, defaults.pool.pids);
  EXPECT_EQ(cfg.pool.log_max_size, defaults.pool.log_max_size);
  EXPECT_EQ(cfg.pool.log_max_files, defaults.pool.log_max_files);
  EXPECT_EQ(cfg.proxy.header_timeout, defaults.proxy.header_timeout);
  EXPECT_EQ(cfg.proxy.idle_timeout, defaults.proxy.idle_timeout);
  EXPECT_EQ(cfg.proxy.max_connections, defaults.proxy.max_connections);
  EXPECT_EQ(cfg.proxy.max_buffered, defaults.proxy.max_buffered);
  EXPECT_EQ(cfg.proxy.trust_forwarded, defaults.proxy.trust_forwarded);
  EXPECT_EQ(cfg.proxy.retry_on_5xx, defaults.proxy.retry_on_5xx);
  EXPECT_EQ(cfg.health.passive_failures, defaults.health.passive_failures);
  EXPECT_EQ(cfg.admin.max_connections, defaults.admin.max_connections);
  EXPECT_EQ(cfg.admin.token, defaults.admin.token);
  EXPECT_EQ(cfg.queue.timeout, defaults.queue.timeout);
  EXPECT_EQ(cfg.queue.max, defaults.queue.max);
  EXPECT_EQ(cfg.rollout.max_surge, defaults.rollout.max_surge);
  EXPECT_EQ(cfg.rollout.max_unavailable, defaults.rollout.max_unavailable);
  EXPECT_EQ(cfg.health.path, defaults.health.path);
  EXPECT_EQ(cfg.health.interval, defaults.health.interval);
  EXPECT_EQ(cfg.health.timeout, defaults.health.timeout);
  EXPECT_EQ(cfg.health.unhealthy_after, defaults.health.unhealthy_after);
  EXPECT_EQ(cfg.health.healthy_after, defaults.health.healthy_after);
  EXPECT_EQ(cfg.health.start_interval, defaults.health.start_interval);
  EXPECT_EQ(cfg.health.start_timeout, defaults.health.start_timeout);
  EXPECT_EQ(cfg.restart.backoff, defaults.restart.backoff);
  EXPECT_EQ(cfg.restart.max_backoff, defaults.restart.max_backoff);
  EXPECT_EQ(cfg.scaling.interval, defaults.scaling.interval);
  EXPECT_EQ(cfg.scaling.requests_per_container, defaults.scaling.requests_per_container);
  EXPECT_EQ(cfg.scaling.start, defaults.scaling.start);
  EXPECT_EQ(cfg.scaling.drain_timeout, defaults.scaling.drain_timeout);
  EXPECT_EQ(cfg.scaling.scale_down_after, defaults.scaling.scale_down_after);
  EXPECT_EQ(cfg.scaling.max_step, defaults.scaling.max_step);
  EXPECT_EQ(cfg.docker.socket, defaults.docker.socket);
  EXPECT_EQ(cfg.log_level, defaults.log_level);
  EXPECT_EQ(cfg.log_format, defaults.log_format);
}

TEST(config, every_section_is_read) {
  auto cfg = parse_ok(R"(
[proxy]
listen = "127.0.0.1:18080"
max_body = "1MiB"
retries = 3
threads = 2
[admin]
listen = "localhost:19090"
[pool]
name = "web"
image = "web:1"
start_port = 18000
min_containers = 2
max_containers = 4
env = { MODE = "test", LEVEL = "3" }
volume = ""
on_exit = "keep"
init = true
[health]
path = "/healthz"
interval = "250ms"
timeout = "100ms"
unhealthy_after = 3
healthy_after = 2
[restart]
backoff = "200ms"
max_backoff = "5s"
[scaling]
interval = "2s"
requests_per_container = 5
start = "startup"
drain_timeout = "3s"
scale_down_after = 2
max_step = 1
[docker]
socket = "/tmp/docker.sock"
[log]
level = "debug"
format = "json"
)");
  EXPECT_EQ(cfg.proxy.listen.port, 18080);
  EXPECT_EQ(cfg.proxy.max_body, 1u << 20);
  EXPECT_EQ(cfg.proxy.retries, 3u);
  EXPECT_EQ(cfg.proxy.threads, 2u);
  EXPECT_EQ(cfg.admin.listen.host, "127.0.0.1");
  EXPECT_EQ(cfg.admin.listen.port, 19090);
  EXPECT_EQ(cfg.pool.name, "web");
  EXPECT_EQ(cfg.pool.start_port, 18000);
  EXPECT_EQ(cfg.pool.min_containers, 2u);
  EXPECT_EQ(cfg.pool.max_containers, 4u);
  EXPECT_EQ(cfg.pool.env.at("MODE"), "test");
  EXPECT_EQ(cfg.pool.env.at("LEVEL"), "3");
  EXPECT_EQ(cfg.pool.volume, "");
  EXPECT_EQ(cfg.pool.on_exit, exit_policy::keep);
  EXPECT_TRUE(cfg.pool.init);
  EXPECT_EQ(cfg.health.path, "/healthz");
  EXPECT_EQ(cfg.health.interval, 250ms);
  EXPECT_EQ(cfg.health.unhealthy_after, 3u);
  EXPECT_EQ(cfg.health.healthy_after, 2u);
  EXPECT_EQ(cfg.restart.backoff, 200ms);
  EXPECT_EQ(cfg.restart.max_backoff, 5s);
  EXPECT_EQ(cfg.scaling.interval, 2s);
  EXPECT_EQ(cfg.scaling.requests_per_container, 5u);
  EXPECT_EQ(cfg.scaling.start, scaling_start::startup);
  EXPECT_EQ(cfg.scaling.scale_down_after, 2u);
  EXPECT_EQ(cfg.scaling.max_step, 1u);
  EXPECT_EQ(cfg.docker.socket, "/tmp/docker.sock");
  EXPECT_EQ(cfg.log_level, log::level::debug);
  EXPECT_EQ(cfg.log_format, log::format::json);
}

TEST(config, log_format_is_text_or_json) {
  EXPECT_EQ(parse_ok("[log]\nformat = \"text\"\n").log_format, log::format::text);
  EXPECT_EQ(parse_ok("[log]\nformat = \"json\"\n").log_format, log::format::json);
}

TEST(config, bad_log_format_is_named_with_its_position) {
  auto err = parse_bad("[log]\nlevel = \"warn\"\nformat = \"logfmt\"\n");
  EXPECT_EQ(err.render(),
            "test.toml:3:10: [log] format: must be \"text\" or \"json\" (got \"logfmt\")");
  err = parse_bad("[log]\n  format = \"JSON\"\n");
  EXPECT_EQ(err.key, "[log] format");
  EXPECT_EQ(err.line, 2u);
  EXPECT_EQ(err.column, 12u);
  err = parse_bad("[log]\nformat = 1\n");
  EXPECT_EQ(err.key, "[log] format");
  EXPECT_EQ(err.message, "expected \"text\" or \"json\", got an integer");
}

TEST(config, syntax_error_names_file_line_and_column) {
  auto err = parse_bad("[pool]\nname = \"acts\"\nstart_port = = 3\n");
  EXPECT_EQ(err.file, "test.toml");
  EXPECT_EQ(err.line, 3u);
  EXPECT_GT(err.column, 0u);
  EXPECT_NE(err.render().find("test.toml:3:"), std::string::npos) << err.render();
  EXPECT_NE(err.message.find("syntax error"), std::string::npos);
}

TEST(config, unknown_key_is_named_with_its_position) {
  auto err = parse_bad("[pool]\nname = \"acts\"\n  start_prot = 8000\n");
  EXPECT_EQ(err.line, 3u);
  EXPECT_EQ(err.column, 3u);
  EXPECT_EQ(err.key, "[pool] start_prot");
  EXPECT_EQ(err.message, "unknown key");
  EXPECT_EQ(err.render(), "test.toml:3:3: [pool] start_prot: unknown key");
}

TEST(config, unknown_section_is_rejected) {
  auto err = parse_bad("[pools]\nname = \"x\"\n");
  EXPECT_EQ(err.key, "[pools]");
  EXPECT_EQ(err.line, 1u);
}

TEST(config, wrong_type_says_what_was_expected) {
  auto err = parse_bad("[pool]\nstart_port = \"8000\"\n");
  EXPECT_EQ(err.key, "[pool] start_port");
  EXPECT_EQ(err.line, 2u);
  EXPECT_EQ(err.column, 14u);
  EXPECT_EQ(err.message, "expected an integer, got a string");
}

TEST(config, port_out_of_range_is_rejected) {
  auto err = parse_bad("[pool]\nstart_port = 70000\n");
  EXPECT_EQ(err.key, "[pool] start_port");
  EXPECT_NE(err.message.find("between 1 and 65535"), std::string::npos);
  err = parse_bad("[proxy]\nlisten = \"127.0.0.1:99999\"\n");
  EXPECT_EQ(err.key, "[proxy] listen");
  err = parse_bad("[pool]\nstart_port = 65530\nmax_containers = 10\n");
  EXPECT_EQ(err.key, "[pool] max_containers");
  EXPECT_EQ(err.line, 3u);
}

TEST(config, min_above_max_is_rejected_at_the_later_key) {
  auto err = parse_bad("[pool]\nmax_containers = 2\nmin_containers = 3\n");
  EXPECT_EQ(err.key, "[pool] min_containers");
  EXPECT_EQ(err.line, 3u);
  EXPECT_NE(err.message.find("larger than max_containers"), std::string::npos);
}

TEST(config, zero_interval_is_rejected) {
  auto err = parse_bad("[health]\ninterval = \"0s\"\n");
  EXPECT_EQ(err.key, "[health] interval");
  EXPECT_EQ(err.message, "must be longer than zero");
  err = parse_bad("[scaling]\ninterval = \"0ms\"\n");
  EXPECT_EQ(err.key, "[scaling] interval");
}

TEST(config, malformed_durations_and_sizes_are_rejected) {
  EXPECT_EQ(parse_bad("[health]\ntimeout = \"5 seconds\"\n").key, "[health] timeout");
  EXPECT_EQ(parse_bad("[health]\ntimeout = 5\n").key, "[health] timeout");
  EXPECT_EQ(parse_bad("[proxy]\nmax_body = \"lots\"\n").key, "[proxy] max_body");
  EXPECT_EQ(parse_bad("[proxy]\nmax_body = 0\n").key, "[proxy] max_body");
}

TEST(config, bad_enums_and_addresses_are_rejected) {
  EXPECT_EQ(parse_bad("[pool]\non_exit = \"delete\"\n").key, "[pool] on_exit");
  EXPECT_EQ(parse_bad("[scaling]\nstart = \"later\"\n").key, "[scaling] start");
  EXPECT_EQ(parse_bad("[log]\nlevel = \"loud\"\n").key, "[log] level");
  EXPECT_EQ(parse_bad("[proxy]\nlisten = \"example.com:80\"\n").key, "[proxy] listen");
  EXPECT_EQ(parse_bad("[proxy]\nlisten = \"8080\"\n").key, "[proxy] listen");
}

TEST(config, conflicting_ports_are_rejected) {
  EXPECT_EQ(parse_bad("[proxy]\nlisten = \"127.0.0.1:8003\"\n").key, "[proxy] listen");
  EXPECT_EQ(parse_bad("[admin]\nlisten = \"127.0.0.1:8080\"\n").key, "[admin] listen");
}

TEST(config, bad_pool_name_env_and_paths_are_rejected) {
  EXPECT_EQ(parse_bad("[pool]\nname = \"my pool\"\n").key, "[pool] name");
  EXPECT_EQ(parse_bad("[pool]\nenv = { PORT = \"1\" }\n").key, "[pool] env");
  EXPECT_EQ(parse_bad("[pool]\nenv = { A = 1 }\n").key, "[pool] env");
  EXPECT_EQ(parse_bad("[health]\npath = \"health\"\n").key, "[health] path");
  EXPECT_EQ(parse_bad("[restart]\nbackoff = \"10s\"\nmax_backoff = \"1s\"\n").key,
            "[restart] max_backoff");
}

TEST(config, missing_file_is_an_error_naming_it) {
  auto result = load_config("/nonexistent/corral.toml");
  ASSERT_TRUE(std::holds_alternative<config_error>(result));
  EXPECT_EQ(std::get<config_error>(result).render(),
            "/nonexistent/corral.toml: cannot open the file");
}

// -- issue 8: rollouts, the queue, the run dir, reload ---------------------------------

TEST(config, rollout_queue_and_run_dir_keys_are_read) {
  auto result = parse_config("[proxy]\nqueue_timeout = \"2s\"\nqueue_max = 7\n"
                             "[pool]\nrun_dir = \"/tmp/corral-run\"\n"
                             "[rollout]\nmax_surge = 2\nmax_unavailable = 1\n",
                             "x.toml");
  ASSERT_TRUE(std::holds_alternative<config>(result)) << std::get<config_error>(result).render();
  auto& cfg = std::get<config>(result);
  EXPECT_EQ(cfg.queue.timeout, std::chrono::seconds(2));
  EXPECT_EQ(cfg.queue.max, 7u);
  EXPECT_EQ(cfg.pool.run_dir, "/tmp/corral-run");
  EXPECT_EQ(cfg.rollout.max_surge, 2u);
  EXPECT_EQ(cfg.rollout.max_unavailable, 1u);
}

TEST(config, a_rollout_that_could_never_progress_is_refused) {
  auto result = parse_config("[rollout]\nmax_surge = 0\nmax_unavailable = 0\n", "x.toml");
  ASSERT_TRUE(std::holds_alternative<config_error>(result));
  auto err = std::get<config_error>(result).render();
  EXPECT_NE(err.find("x.toml:3:1: [rollout] max_unavailable: max_surge and max_unavailable "
                     "cannot both be 0"),
            std::string::npos)
    << err;
}

TEST(config, the_proxy_port_may_not_sit_on_a_surge_port) {
  // Pool 9000..9009, and the surge port 9010.
  auto result = parse_config("[proxy]\nlisten = \"127.0.0.1:9010\"\n"
                             "[pool]\nstart_port = 9000\n",
                             "x.toml");
  ASSERT_TRUE(std::holds_alternative<config_error>(result));
  EXPECT_NE(std::get<config_error>(result).render().find("surge included"), std::string::npos)
    << std::get<config_error>(result).render();
}

TEST(config, reload_refuses_only_what_needs_a_restart) {
  config running;
  auto loaded = running;
  loaded.scaling.interval = std::chrono::seconds(5);
  loaded.pool.max_containers = 4;
  loaded.pool.image = "other:latest";
  loaded.proxy.retries = 0;
  EXPECT_TRUE(restart_only_changes(running, loaded).empty());
  loaded.proxy.listen.port = 8081;
  loaded.admin.listen.host = "127.0.0.2";
  loaded.pool.name = "other";
  loaded.pool.start_port = 9000;
  loaded.proxy.threads = 2;
  loaded.pool.run_dir = "/tmp/x";
  loaded.docker.socket = "/tmp/docker.sock";
  EXPECT_EQ(restart_only_changes(running, loaded),
            (std::vector<std::string>{"[proxy] listen", "[proxy] threads", "[admin] listen",
                                      "[pool] name", "[pool] start_port", "[pool] run_dir",
                                      "[docker] socket"}));
}

TEST(config, issue_11_keys_are_read_and_checked) {
  auto result = parse_config("[proxy]\nheader_timeout = \"2s\"\nidle_timeout = \"5s\"\n"
                             "max_connections = 100\nmax_buffered = \"32MiB\"\n"
                             "trust_forwarded = true\nretry_on = \"5xx\"\n"
                             "[health]\npassive_failures = 0\n[admin]\nmax_connections = 4\n",
                             "x.toml");
  ASSERT_TRUE(std::holds_alternative<config>(result)) << std::get<config_error>(result).render();
  auto& cfg = std::get<config>(result);
  EXPECT_EQ(cfg.proxy.header_timeout, std::chrono::seconds(2));
  EXPECT_EQ(cfg.proxy.idle_timeout, std::chrono::seconds(5));
  EXPECT_EQ(cfg.proxy.max_connections, 100u);
  EXPECT_EQ(cfg.proxy.max_buffered, 32u * 1024 * 1024);
  EXPECT_TRUE(cfg.proxy.trust_forwarded);
  EXPECT_TRUE(cfg.proxy.retry_on_5xx);
  EXPECT_EQ(cfg.health.passive_failures, 0u);
  EXPECT_EQ(cfg.admin.max_connections, 4u);
  auto bad = parse_config("[proxy]\nretry_on = \"always\"\n", "x.toml");
  ASSERT_TRUE(std::holds_alternative<config_error>(bad));
  EXPECT_NE(std::get<config_error>(bad).render().find("x.toml:2:12: [proxy] retry_on"),
            std::string::npos)
    << std::get<config_error>(bad).render();
  auto small = parse_config("[proxy]\nmax_body = \"2MiB\"\nmax_buffered = \"1MiB\"\n", "x.toml");
  ASSERT_TRUE(std::holds_alternative<config_error>(small));
  auto missing = parse_config("[admin]\ntoken_file = \"/nonexistent/token\"\n", "x.toml");
  ASSERT_TRUE(std::holds_alternative<config_error>(missing));
  EXPECT_NE(std::get<config_error>(missing).render().find("cannot read /nonexistent/token"),
            std::string::npos);
}

TEST(config, confinement_keys_are_read_and_normalised) {
  auto cfg = parse_ok(R"(
[pool]
cap_drop = ["NET_RAW", "cap_sys_admin"]
cap_add = ["CAP_NET_BIND_SERVICE"]
no_new_privileges = false
read_only = false
tmpfs = ["/tmp", "/run:size=1m"]
user = "1000:1000"
memory = "64MiB"
cpus = 0.5
pids = 32
log_max_size = "1MiB"
log_max_files = 5
)");
  EXPECT_EQ(cfg.pool.cap_drop, (std::vector<std::string>{"NET_RAW", "SYS_ADMIN"}));
  EXPECT_EQ(cfg.pool.cap_add, (std::vector<std::string>{"NET_BIND_SERVICE"}));
  EXPECT_FALSE(cfg.pool.no_new_privileges);
  EXPECT_FALSE(cfg.pool.read_only);
  EXPECT_EQ(cfg.pool.tmpfs, (std::vector<std::string>{"/tmp", "/run:size=1m"}));
  EXPECT_EQ(cfg.pool.user, "1000:1000");
  EXPECT_EQ(cfg.pool.memory, 64u << 20);
  EXPECT_EQ(cfg.pool.cpus, 0.5);
  EXPECT_EQ(cfg.pool.pids, 32u);
  EXPECT_EQ(cfg.pool.log_max_size, 1u << 20);
  EXPECT_EQ(cfg.pool.log_max_files, 5u);
}

TEST(config, confinement_limits_may_be_lifted) {
  auto cfg = parse_ok("[pool]\ncap_drop = []\nuser = \"\"\nmemory = 0\ncpus = 0\npids = 0\n");
  EXPECT_TRUE(cfg.pool.cap_drop.empty());
  EXPECT_EQ(cfg.pool.user, "");
  EXPECT_EQ(cfg.pool.memory, 0u);
  EXPECT_EQ(cfg.pool.cpus, 0.0);
  EXPECT_EQ(cfg.pool.pids, 0u);
  EXPECT_EQ(parse_ok("[pool]\ncpus = 2\n").pool.cpus, 2.0);
  EXPECT_EQ(parse_ok("[pool]\nuser = \"nobody\"\n").pool.user, "nobody");
}

TEST(config, bad_confinement_is_refused_with_its_key) {
  EXPECT_EQ(parse_bad("[pool]\ncap_add = [\"NET_RAWW\"]\n").render(),
            "test.toml:2:11: [pool] cap_add: \"NET_RAWW\" is not a Linux capability (e.g. "
            "\"NET_BIND_SERVICE\", or \"ALL\")");
  EXPECT_EQ(parse_bad("[pool]\ncap_drop = \"ALL\"\n").key, "[pool] cap_drop");
  EXPECT_EQ(parse_bad("[pool]\ncap_drop = [1]\n").key, "[pool] cap_drop");
  EXPECT_EQ(parse_bad("[pool]\nno_new_privileges = \"yes\"\n").key, "[pool] no_new_privileges");
  EXPECT_EQ(parse_bad("[pool]\nread_only = 1\n").key, "[pool] read_only");
  EXPECT_EQ(parse_bad("[pool]\ntmpfs = [\"tmp\"]\n").key, "[pool] tmpfs");
  EXPECT_EQ(parse_bad("[pool]\ntmpfs = [\"/\"]\n").key, "[pool] tmpfs");
  EXPECT_EQ(parse_bad("[pool]\ntmpfs = [\"/tmp\", \"/tmp:size=1m\"]\n").key, "[pool] tmpfs");
  EXPECT_EQ(parse_bad("[pool]\ntmpfs = [\"/data\"]\n").key, "[pool] tmpfs"); // the volume's
  EXPECT_EQ(parse_bad("[pool]\nuser = \"root user\"\n").key, "[pool] user");
  EXPECT_EQ(parse_bad("[pool]\nuser = \"1:\"\n").key, "[pool] user");
  EXPECT_EQ(parse_bad("[pool]\nuser = \"1:2:3\"\n").key, "[pool] user");
  EXPECT_EQ(parse_bad("[pool]\nmemory = \"lots\"\n").key, "[pool] memory");
  EXPECT_EQ(parse_bad("[pool]\nmemory = \"1MiB\"\n").render(),
            "test.toml:2:1: [pool] memory: must be 0 (no limit) or at least 6MiB, the engine's "
            "minimum (got 1048576 bytes)");
  EXPECT_EQ(parse_bad("[pool]\ncpus = -1\n").key, "[pool] cpus");
  EXPECT_EQ(parse_bad("[pool]\ncpus = 0.001\n").key, "[pool] cpus");
  EXPECT_EQ(parse_bad("[pool]\ncpus = \"1\"\n").key, "[pool] cpus");
  EXPECT_EQ(parse_bad("[pool]\npids = -1\n").key, "[pool] pids");
  EXPECT_EQ(parse_bad("[pool]\nlog_max_size = 0\n").key, "[pool] log_max_size");
  EXPECT_EQ(parse_bad("[pool]\nlog_max_files = 0\n").key, "[pool] log_max_files");
}

TEST(config, static_runtime_reads_the_backend_list) {
  EXPECT_EQ(parse_ok("").pool.runtime, pool_runtime::docker);
  EXPECT_TRUE(parse_ok("").pool.backends.empty());
  auto cfg = parse_ok("[pool]\nruntime = \"static\"\n"
                      "backends = [\"127.0.0.1:8000\", \"localhost:9001\", \"127.0.0.1:65535\"]\n");
  EXPECT_EQ(cfg.pool.runtime, pool_runtime::static_backends);
  EXPECT_EQ(cfg.pool.backends, (std::vector<uint16_t>{8000, 9001, 65535}));
  // The pool's port range is the docker runtime's: a static pool may list
  // ports the docker one would use, and the proxy may sit among them.
  parse_ok("[proxy]\nlisten = \"127.0.0.1:8001\"\n[pool]\nruntime = \"static\"\n"
           "backends = [\"127.0.0.1:8000\"]\n");
}

TEST(config, static_backends_that_cannot_be_balanced_are_refused) {
  auto base = std::string{"[pool]\nruntime = \"static\"\n"};
  EXPECT_EQ(parse_bad(base + "backends = []\n").message, "must name at least one backend");
  EXPECT_EQ(parse_bad(base + "backends = \"127.0.0.1:8000\"\n").key, "[pool] backends");
  for (auto bad : {"127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:", "10.0.0.1:8000",
                   "127.0.0.1:80a", ":8000", "localhost"}) {
    auto err = parse_bad(base + "backends = [\"127.0.0.1:7000\", \"" + bad + "\"]\n");
    EXPECT_NE(err.message.find("is not a loopback backend"), std::string::npos) << bad;
    EXPECT_EQ(err.line, 3u) << bad;
    EXPECT_EQ(err.column, 31u) << bad;
  }
  auto twice = parse_bad(base + "backends = [\"127.0.0.1:8000\", \"localhost:8000\"]\n");
  EXPECT_NE(twice.message.find("listed twice"), std::string::npos);
  EXPECT_NE(parse_bad(base).message.find("needs [pool] backends"), std::string::npos);
  EXPECT_NE(parse_bad("[pool]\nbackends = [\"127.0.0.1:8000\"]\n").message.find("runtime = "),
            std::string::npos);
  EXPECT_NE(parse_bad(base + "backends = [\"127.0.0.1:9090\"]\n").message.find("admin"),
            std::string::npos);
  EXPECT_EQ(parse_bad("[pool]\nruntime = \"k8s\"\n").key, "[pool] runtime");
}
