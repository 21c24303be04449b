// The Docker Engine API's bodies and answers, without a daemon; the samples
// are the answers recorded in guides/docker-engine-api.md.
#include "runtime/docker_api.hpp"
#include "tests/runtime/printers.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace json = boost::json;
using namespace corral;

namespace {

container_spec sample_spec() {
  container_spec spec;
  spec.name = "pool-8001";
  spec.image = "acts:latest";
  spec.port = 8001;
  spec.env = {"ACTS_DB=/data/acts.db"};
  spec.labels = {{labels::pool, "pool"},
                 {labels::port, "8001"},
                 {labels::owner, "corral-1"}};
  spec.volume = "pool-data";
  spec.volume_path = "/data";
  spec.stop_timeout = std::chrono::seconds{7};
  spec.init = true;
  return spec;
}

json::object parse_object(const std::string& text) {
  return json::parse(text).as_object();
}

} // namespace

TEST(docker_api_test, create_body_uses_host_networking_and_no_engine_restarts) {
  auto body = parse_object(docker::create_body(sample_spec()));
  auto& host = body.at("HostConfig").as_object();
  EXPECT_EQ(host.at("NetworkMode"), "host");
  EXPECT_EQ(host.at("RestartPolicy"), (json::object{{"Name", "no"}}));
  EXPECT_EQ(host.at("Init"), true);
  EXPECT_EQ(body.at("Image"), "acts:latest");
  EXPECT_EQ(body.at("StopTimeout"), 7);
}

TEST(docker_api_test, create_body_passes_port_env_first_then_extra_env) {
  auto body = parse_object(docker::create_body(sample_spec()));
  EXPECT_EQ(body.at("Env"), (json::array{"PORT=8001", "ACTS_DB=/data/acts.db"}));
}

TEST(docker_api_test, create_body_drops_a_port_from_extra_env) {
  // The slot's port must win: a stray PORT would bind off the proxy's map.
  auto spec = sample_spec();
  spec.env = {"PORT=9999", "A=1"};
  auto body = parse_object(docker::create_body(spec));
  EXPECT_EQ(body.at("Env"), (json::array{"PORT=8001", "A=1"}));
}

TEST(docker_api_test, create_body_carries_the_labels) {
  auto body = parse_object(docker::create_body(sample_spec()));
  EXPECT_EQ(body.at("Labels"), (json::object{{"corral.owner", "corral-1"},
                                             {"corral.pool", "pool"},
                                             {"corral.port", "8001"}}));
}

TEST(docker_api_test, create_body_mounts_the_named_volume) {
  auto body = parse_object(docker::create_body(sample_spec()));
  auto& mounts = body.at("HostConfig").at("Mounts").as_array();
  ASSERT_EQ(mounts.size(), 1u);
  EXPECT_EQ(mounts[0], (json::object{{"Type", "volume"},
                                     {"Source", "pool-data"},
                                     {"Target", "/data"}}));
}

TEST(docker_api_test, create_body_has_no_mounts_without_a_volume) {
  auto spec = sample_spec();
  spec.volume.clear();
  auto body = parse_object(docker::create_body(spec));
  EXPECT_FALSE(body.at("HostConfig").as_object().contains("Mounts"));
}

TEST(docker_api_test, create_body_confines_the_container_as_the_spec_asks) {
  auto spec = sample_spec();
  spec.cap_drop = {"ALL"};
  spec.cap_add = {"NET_BIND_SERVICE"};
  spec.no_new_privileges = true;
  spec.read_only = true;
  spec.tmpfs = {"/tmp", "/run:size=1m,mode=1777"};
  spec.user = "65534:65534";
  spec.memory = 256u << 20;
  spec.nano_cpus = 1'500'000'000;
  spec.pids = 64;
  spec.log_max_size = 10u << 20;
  spec.log_max_files = 3;
  auto body = parse_object(docker::create_body(spec));
  auto& host = body.at("HostConfig").as_object();
  EXPECT_EQ(host.at("CapDrop"), (json::array{"ALL"}));
  EXPECT_EQ(host.at("CapAdd"), (json::array{"NET_BIND_SERVICE"}));
  EXPECT_EQ(host.at("SecurityOpt"), (json::array{"no-new-privileges"}));
  EXPECT_EQ(host.at("ReadonlyRootfs"), true);
  EXPECT_EQ(host.at("Tmpfs"), (json::object{{"/tmp", ""}, {"/run", "size=1m,mode=1777"}}));
  EXPECT_EQ(body.at("User"), "65534:65534");
  EXPECT_EQ(host.at("Memory").to_number<int64_t>(), 256 << 20);
  // No swap on top of the limit.
  EXPECT_EQ(host.at("MemorySwap").to_number<int64_t>(), 256 << 20);
  EXPECT_EQ(host.at("NanoCpus").to_number<int64_t>(), 1'500'000'000);
  EXPECT_EQ(host.at("PidsLimit").to_number<int64_t>(), 64);
  EXPECT_EQ(host.at("LogConfig"),
            (json::object{{"Type", "json-file"},
                          {"Config", json::object{{"max-size", "10485760"}, {"max-file", "3"}}}}));
}

TEST(docker_api_test, create_body_of_an_unconfined_spec_leaves_the_engine_defaults) {
  auto body = parse_object(docker::create_body(sample_spec()));
  auto& host = body.at("HostConfig").as_object();
  for (auto* key : {"CapDrop", "CapAdd", "SecurityOpt", "Tmpfs", "Memory", "MemorySwap",
                    "NanoCpus", "PidsLimit", "LogConfig"})
    EXPECT_FALSE(host.contains(key)) << key;
  EXPECT_EQ(host.at("ReadonlyRootfs"), false);
  EXPECT_FALSE(body.contains("User"));
}

TEST(docker_api_test, label_filters_and_all_labels) {
  auto filters = parse_object(docker::label_filters(
    {{"corral.pool", "p"}, {"corral.port", "8000"}}));
  EXPECT_EQ(filters, (json::object{
                       {"label", json::array{"corral.pool=p", "corral.port=8000"}}}));
}

TEST(docker_api_test, event_filters_select_lifecycle_events_of_the_pool) {
  auto filters = parse_object(docker::event_filters({{"corral.pool", "p"}}));
  EXPECT_EQ(filters.at("type"), (json::array{"container"}));
  EXPECT_EQ(filters.at("event"), (json::array{"create", "start", "die", "kill",
                                              "stop", "destroy", "oom"}));
  EXPECT_EQ(filters.at("label"), (json::array{"corral.pool=p"}));
}

TEST(docker_api_test, url_encode_escapes_json_and_spaces) {
  EXPECT_EQ(docker::url_encode(R"({"label":["a b=c"]})"),
            "%7B%22label%22%3A%5B%22a%20b%3Dc%22%5D%7D");
  EXPECT_EQ(docker::url_encode("corral-rt_1.x~"), "corral-rt_1.x~");
}

TEST(docker_api_test, object_names_that_could_change_the_url_are_invalid) {
  EXPECT_TRUE(docker::is_valid_object_name("corral-8000"));
  EXPECT_TRUE(docker::is_valid_object_name("1473545ba448"));
  EXPECT_FALSE(docker::is_valid_object_name(""));
  EXPECT_FALSE(docker::is_valid_object_name("-x"));
  EXPECT_FALSE(docker::is_valid_object_name("a/../b"));
  EXPECT_FALSE(docker::is_valid_object_name("x?force=true"));
  EXPECT_FALSE(docker::is_valid_object_name("a b"));
  EXPECT_TRUE(docker::is_valid_image_reference("acts:latest"));
  EXPECT_TRUE(docker::is_valid_image_reference("library/acts:1.0"));
  EXPECT_FALSE(docker::is_valid_image_reference("../containers/x"));
  EXPECT_FALSE(docker::is_valid_image_reference("acts?x=1"));
}

TEST(docker_api_test, error_message_reads_the_message_field) {
  EXPECT_EQ(docker::error_message(R"({"message":"No such image: x:1"})"),
            "No such image: x:1");
}

TEST(docker_api_test, error_message_falls_back_to_the_text) {
  EXPECT_EQ(docker::error_message("client version 1.10 is too old\n"),
            "client version 1.10 is too old");
  EXPECT_EQ(docker::error_message(""), "(empty answer)");
}

TEST(docker_api_test, created_id_is_read_from_the_answer) {
  auto id = docker::parse_created_id(
    R"({"Id":"1473545ba448ec2a5ea57322fb85047058dfbafc0e914372d077e757facc64e8","Warnings":[]})");
  ASSERT_TRUE(id);
  EXPECT_EQ(*id,
            "1473545ba448ec2a5ea57322fb85047058dfbafc0e914372d077e757facc64e8");
  EXPECT_EQ(docker::parse_created_id("{}").error().code,
            runtime_errc::protocol_error);
}

TEST(docker_api_test, list_parses_names_labels_state_and_exit_code) {
  auto list = docker::parse_list(R"json([
    {"Id":"1473545b","Names":["/pool-8000"],"Image":"acts:latest","ImageID":"sha256:4e7f",
     "Command":"/app","Created":1795931008,"Ports":[],
     "Labels":{"corral.pool":"pool","corral.port":"8000"},"State":"running",
     "Status":"Up 6 seconds (healthy)","HostConfig":{"NetworkMode":"host"}},
    {"Id":"8eaedc93","Names":["/pool-8001"],"Image":"acts:latest",
     "Labels":{"corral.pool":"pool","corral.port":"8001"},"State":"exited",
     "Status":"Exited (137) 5 seconds ago"},
    {"Id":"99","Names":[],"Labels":null,"State":"created","Status":"Created"}
  ])json");
  ASSERT_TRUE(list) << list.error().message;
  ASSERT_EQ(list->size(), 3u);
  auto& running = (*list)[0];
  EXPECT_EQ(running.id, "1473545b");
  EXPECT_EQ(running.name, "pool-8000");
  EXPECT_EQ(running.image, "acts:latest");
  EXPECT_EQ(running.status, container_status::running);
  EXPECT_EQ(running.port, 8000);
  EXPECT_EQ(running.labels.at("corral.pool"), "pool");
  EXPECT_EQ(running.exit_code, 0);
  auto& exited = (*list)[1];
  EXPECT_EQ(exited.status, container_status::exited);
  EXPECT_EQ(exited.exit_code, 137);
  EXPECT_EQ(exited.port, 8001);
  auto& bare = (*list)[2];
  EXPECT_EQ(bare.status, container_status::created);
  EXPECT_TRUE(bare.labels.empty());
  EXPECT_EQ(bare.port, 0);
}

TEST(docker_api_test, empty_list_is_no_containers) {
  auto list = docker::parse_list("[]\n");
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->empty());
}

TEST(docker_api_test, list_that_is_not_an_array_is_a_protocol_error) {
  EXPECT_EQ(docker::parse_list(R"({"message":"x"})").error().code,
            runtime_errc::protocol_error);
  EXPECT_EQ(docker::parse_list("[{").error().code, runtime_errc::protocol_error);
}

TEST(docker_api_test, inspect_parses_state_exit_code_and_oom) {
  auto info = docker::parse_inspect(R"({
    "Id":"1473545ba448","Name":"/pool-8000",
    "State":{"Status":"exited","Running":false,"Paused":false,"Restarting":false,
             "OOMKilled":true,"Dead":false,"Pid":0,"ExitCode":137,"Error":"",
             "StartedAt":"2026-11-29T05:43:30.878065776Z",
             "FinishedAt":"2026-11-29T05:43:58.245538223Z"},
    "Config":{"Env":["PORT=8000"],"Image":"acts:latest",
              "Labels":{"corral.pool":"pool","corral.port":"8000","corral.owner":"o"}},
    "HostConfig":{"NetworkMode":"host","RestartPolicy":{"Name":"no","MaximumRetryCount":0}}
  })");
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->id, "1473545ba448");
  EXPECT_EQ(info->name, "pool-8000");
  EXPECT_EQ(info->image, "acts:latest");
  EXPECT_EQ(info->status, container_status::exited);
  EXPECT_EQ(info->exit_code, 137);
  EXPECT_TRUE(info->oom_killed);
  EXPECT_EQ(info->port, 8000);
  EXPECT_EQ(info->labels.size(), 3u);
}

TEST(docker_api_test, inspect_without_id_is_a_protocol_error) {
  EXPECT_EQ(docker::parse_inspect(R"({"Name":"/x"})").error().code,
            runtime_errc::protocol_error);
}

TEST(docker_api_test, die_event_has_exit_code_port_and_exact_time) {
  auto event = docker::parse_event(
    R"({"status":"die","id":"1473","from":"acts:latest","Type":"container","Action":"die",)"
    R"("Actor":{"ID":"1473","Attributes":{"exitCode":"137","image":"acts:latest",)"
    R"("name":"pool-8000","corral.pool":"pool","corral.port":"8000"}},)"
    R"("scope":"local","time":1795931038,"timeNano":1795931038268812300})");
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(event->what, runtime_event::kind::die);
  EXPECT_EQ(event->id, "1473");
  EXPECT_EQ(event->name, "pool-8000");
  EXPECT_EQ(event->exit_code, 137);
  EXPECT_EQ(event->port, 8000);
  // Would come out as ...268812288 through a double.
  EXPECT_EQ(event->time_nano, 1795931038268812300LL);
  // Engine attributes are not labels.
  EXPECT_EQ(event->labels,
            (std::map<std::string, std::string>{{"corral.pool", "pool"},
                                                {"corral.port", "8000"}}));
}

TEST(docker_api_test, kill_event_has_no_exit_code) {
  auto event = docker::parse_event(
    R"({"status":"kill","id":"1473","Type":"container","Action":"kill",)"
    R"("Actor":{"ID":"1473","Attributes":{"image":"a","name":"n","signal":"15",)"
    R"("corral.port":"8001"}},"time":1,"timeNano":1795931036000000001})");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->what, runtime_event::kind::kill);
  EXPECT_EQ(event->exit_code, -1);
  EXPECT_EQ(event->port, 8001);
  EXPECT_EQ(event->labels.count("signal"), 0u);
}

TEST(docker_api_test, event_kinds_map_from_actions) {
  using kind = runtime_event::kind;
  EXPECT_EQ(docker::parse_event_kind("create"), kind::create);
  EXPECT_EQ(docker::parse_event_kind("start"), kind::start);
  EXPECT_EQ(docker::parse_event_kind("oom"), kind::oom);
  EXPECT_EQ(docker::parse_event_kind("stop"), kind::stop);
  EXPECT_EQ(docker::parse_event_kind("destroy"), kind::destroy);
  EXPECT_EQ(docker::parse_event_kind("health_status: healthy"), kind::other);
}

TEST(docker_api_test, malformed_event_is_a_protocol_error) {
  EXPECT_EQ(docker::parse_event(R"({"status":"die")").error().code,
            runtime_errc::protocol_error);
}

TEST(docker_api_test, port_label_outside_the_port_range_is_zero) {
  EXPECT_EQ(docker::port_label({{"corral.port", "8000"}}), 8000);
  EXPECT_EQ(docker::port_label({{"corral.port", "0"}}), 0);
  EXPECT_EQ(docker::port_label({{"corral.port", "65536"}}), 0);
  EXPECT_EQ(docker::port_label({{"corral.port", "80x"}}), 0);
  EXPECT_EQ(docker::port_label({}), 0);
}

TEST(docker_api_test, event_lines_are_taken_whole_and_the_rest_is_kept) {
  std::string buffer
    = "{\"Action\":\"start\",\"Actor\":{\"ID\":\"a\"},\"timeNano\":1}\n"
      " \r\n"
      "not json\n"
      "{\"Action\":\"die\",\"Actor\":{\"ID\":\"b\",\"Attributes\":{\"exitCode\":\"3\"}},\"timeNano\":2}\n"
      "{\"Action\":\"sto";
  std::vector<std::string> seen;
  auto ok = docker::take_event_lines(buffer, [&](const result<runtime_event>& event) {
    seen.push_back(event ? event->id : "error");
  });
  ASSERT_TRUE(ok);
  // The blank line is skipped, the odd one reported, the partial one kept.
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "error", "b"}));
  EXPECT_EQ(buffer, "{\"Action\":\"sto");
}

TEST(docker_api_test, an_endless_event_line_is_a_protocol_error) {
  std::string buffer(docker::max_event_line + 1, 'x');
  size_t lines = 0;
  auto ok = docker::take_event_lines(buffer, [&](const result<runtime_event>&) { ++lines; });
  ASSERT_FALSE(ok);
  EXPECT_EQ(ok.error().code, runtime_errc::protocol_error);
  EXPECT_EQ(lines, 0u);
}
