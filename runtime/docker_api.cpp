// Builds and parses the Docker Engine API's JSON with Boost.JSON; no I/O.
#include "runtime/docker_api.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <limits>

namespace json = boost::json;

namespace corral::docker {

namespace {

// Attributes the engine adds to every event next to the container's labels.
constexpr std::string_view engine_attributes[] = {"image", "name", "exitCode",
                                                  "signal", "execID"};

runtime_error malformed(std::string_view what, std::string_view detail) {
  std::string message = "the Docker daemon sent a malformed ";
  message.append(what);
  if (!detail.empty())
    message.append(": ").append(detail);
  return {runtime_errc::protocol_error, std::move(message), 0};
}

result<json::value> parse_json(std::string_view text, std::string_view what) {
  json::error_code ec;
  auto value = json::parse(json::string_view{text.data(), text.size()}, ec);
  if (ec)
    return malformed(what, ec.message());
  return value;
}

// Field accessors that treat a missing or mistyped field as absent: the engine
// omits fields (State.Health) and sends null for empty maps (Labels).
std::string string_field(const json::object& obj, std::string_view key) {
  if (auto* v = obj.if_contains(key))
    if (auto* s = v->if_string())
      return std::string{s->data(), s->size()};
  return {};
}

const json::object* object_field(const json::object& obj,
                                 std::string_view key) {
  if (auto* v = obj.if_contains(key))
    return v->if_object();
  return nullptr;
}

std::map<std::string, std::string> string_map(const json::object* obj) {
  std::map<std::string, std::string> out;
  if (obj == nullptr)
    return out;
  for (const auto& [key, value] : *obj)
    if (auto* s = value.if_string())
      out.emplace(std::string{key.data(), key.size()},
                  std::string{s->data(), s->size()});
  return out;
}

std::string without_leading_slash(std::string name) {
  if (!name.empty() && name.front() == '/')
    name.erase(0, 1);
  return name;
}

// Parses a whole string as a decimal int; nullopt-like false on any junk.
bool parse_int(std::string_view text, int& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

// "Exited (137) 5 seconds ago" -> 137; 0 for any other status text.
int exit_code_from_status_text(std::string_view status) {
  constexpr std::string_view prefix = "Exited (";
  if (status.substr(0, prefix.size()) != prefix)
    return 0;
  auto rest = status.substr(prefix.size());
  auto close = rest.find(')');
  int code = 0;
  if (close == std::string_view::npos || !parse_int(rest.substr(0, close), code))
    return 0;
  return code;
}

json::array label_list(const std::map<std::string, std::string>& labels) {
  json::array out;
  for (const auto& [key, value] : labels)
    out.emplace_back(key + "=" + value);
  return out;
}

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9');
}

} // namespace

std::string create_body(const container_spec& spec) {
  json::array env;
  env.emplace_back("PORT=" + std::to_string(spec.port));
  // The slot's port is authoritative: a PORT in spec.env would make the
  // workload bind somewhere the proxy never sends traffic.
  for (const auto& entry : spec.env)
    if (entry.rfind("PORT=", 0) != 0)
      env.emplace_back(entry);

  json::object labels;
  for (const auto& [key, value] : spec.labels)
    labels[key] = value;

  json::object host_config;
  // Host networking: containers bind 127.0.0.1:$PORT and the daemon runs
  // with --bridge=none, so there is no other network to join.
  host_config["NetworkMode"] = "host";
  if (!spec.volume.empty())
    host_config["Mounts"] = json::array{json::object{
      {"Type", "volume"},
      {"Source", spec.volume},
      {"Target", spec.volume_path},
    }};
  // The engine must never restart a container behind the supervisor's back.
  host_config["RestartPolicy"] = json::object{{"Name", "no"}};
  host_config["Init"] = spec.init;

  // Confinement: each field only when set, so an unconfined spec asks the
  // engine for its own defaults.
  auto strings = [](const std::vector<std::string>& list) {
    json::array out;
    for (const auto& s : list)
      out.emplace_back(s);
    return out;
  };
  if (!spec.cap_drop.empty())
    host_config["CapDrop"] = strings(spec.cap_drop);
  if (!spec.cap_add.empty())
    host_config["CapAdd"] = strings(spec.cap_add);
  if (spec.no_new_privileges)
    host_config["SecurityOpt"] = json::array{"no-new-privileges"};
  host_config["ReadonlyRootfs"] = spec.read_only;
  if (!spec.tmpfs.empty()) {
    json::object tmpfs;
    for (const auto& entry : spec.tmpfs) {
      auto colon = entry.find(':');
      tmpfs[entry.substr(0, colon)] =
        colon == std::string::npos ? std::string{} : entry.substr(colon + 1);
    }
    host_config["Tmpfs"] = std::move(tmpfs);
  }
  if (spec.memory > 0) {
    host_config["Memory"] = spec.memory;
    // Swap equal to the limit means none on top: the limit is what the
    // container gets, and past it the kernel's OOM killer acts.
    host_config["MemorySwap"] = spec.memory;
  }
  if (spec.nano_cpus > 0)
    host_config["NanoCpus"] = spec.nano_cpus;
  if (spec.pids > 0)
    host_config["PidsLimit"] = spec.pids;
  if (spec.log_max_size > 0)
    host_config["LogConfig"] = json::object{
      {"Type", "json-file"},
      {"Config", json::object{{"max-size", std::to_string(spec.log_max_size)},
                              {"max-file", std::to_string(std::max<uint32_t>(spec.log_max_files, 1))}}},
    };

  json::object body;
  body["Image"] = spec.image;
  if (!spec.user.empty())
    body["User"] = spec.user;
  body["Env"] = std::move(env);
  body["Labels"] = std::move(labels);
  body["StopTimeout"] = spec.stop_timeout.count();
  body["HostConfig"] = std::move(host_config);
  return json::serialize(body);
}

std::string label_filters(const std::map<std::string, std::string>& labels) {
  return json::serialize(json::object{{"label", label_list(labels)}});
}

std::string event_filters(const std::map<std::string, std::string>& labels) {
  json::object filters;
  filters["type"] = json::array{"container"};
  filters["event"] = json::array{"create", "start", "die",   "kill",
                                 "stop",   "destroy", "oom"};
  if (!labels.empty())
    filters["label"] = label_list(labels);
  return json::serialize(filters);
}

std::string url_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (char c : text) {
    if (is_alnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(hex[byte >> 4]);
      out.push_back(hex[byte & 0x0f]);
    }
  }
  return out;
}

bool is_valid_object_name(std::string_view name) {
  if (name.empty() || !is_alnum(name.front()))
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return is_alnum(c) || c == '_' || c == '.' || c == '-';
  });
}

bool is_valid_image_reference(std::string_view image) {
  if (image.empty() || !is_alnum(image.front())
      || image.find("..") != std::string_view::npos)
    return false;
  return std::all_of(image.begin(), image.end(), [](char c) {
    return is_alnum(c) || c == '_' || c == '.' || c == '-' || c == ':'
           || c == '/' || c == '@';
  });
}

std::string error_message(std::string_view body) {
  json::error_code ec;
  auto value = json::parse(json::string_view{body.data(), body.size()}, ec);
  if (!ec)
    if (auto* obj = value.if_object())
      if (auto message = string_field(*obj, "message"); !message.empty())
        return message;
  auto first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos)
    return "(empty answer)";
  auto last = body.find_last_not_of(" \t\r\n");
  return std::string{body.substr(first, last - first + 1)};
}

result<std::string> parse_created_id(std::string_view body) {
  auto value = parse_json(body, "create answer");
  if (!value)
    return value.error();
  auto* obj = value->if_object();
  auto id = obj ? string_field(*obj, "Id") : std::string{};
  if (id.empty())
    return malformed("create answer", "no Id");
  return id;
}

result<std::string> parse_image_id(std::string_view body) {
  auto value = parse_json(body, "image description");
  if (!value)
    return value.error();
  auto* obj = value->if_object();
  auto id = obj ? string_field(*obj, "Id") : std::string{};
  if (id.empty())
    return malformed("image description", "no Id");
  return id;
}

result<container_info> parse_inspect(std::string_view body) {
  auto value = parse_json(body, "container description");
  if (!value)
    return value.error();
  auto* obj = value->if_object();
  if (obj == nullptr)
    return malformed("container description", "not an object");
  container_info info;
  info.id = string_field(*obj, "Id");
  if (info.id.empty())
    return malformed("container description", "no Id");
  info.name = without_leading_slash(string_field(*obj, "Name"));
  if (auto* config = object_field(*obj, "Config")) {
    info.image = string_field(*config, "Image");
    info.labels = string_map(object_field(*config, "Labels"));
  }
  if (auto* state = object_field(*obj, "State")) {
    info.status = parse_container_status(string_field(*state, "Status"));
    if (auto* code = state->if_contains("ExitCode"))
      if (auto* n = code->if_int64())
        info.exit_code = static_cast<int>(*n);
    if (auto* oom = state->if_contains("OOMKilled"))
      if (auto* b = oom->if_bool())
        info.oom_killed = *b;
  }
  info.port = port_label(info.labels);
  return info;
}

result<std::vector<container_info>> parse_list(std::string_view body) {
  auto value = parse_json(body, "container list");
  if (!value)
    return value.error();
  auto* items = value->if_array();
  if (items == nullptr)
    return malformed("container list", "not an array");
  std::vector<container_info> out;
  out.reserve(items->size());
  for (const auto& item : *items) {
    auto* obj = item.if_object();
    if (obj == nullptr)
      return malformed("container list", "an entry is not an object");
    container_info info;
    info.id = string_field(*obj, "Id");
    if (auto* names = obj->if_contains("Names"))
      if (auto* list = names->if_array(); list && !list->empty())
        if (auto* first = list->front().if_string())
          info.name = without_leading_slash(std::string{first->data(),
                                                        first->size()});
    info.image = string_field(*obj, "Image");
    info.labels = string_map(object_field(*obj, "Labels"));
    info.status = parse_container_status(string_field(*obj, "State"));
    info.exit_code = exit_code_from_status_text(string_field(*obj, "Status"));
    info.port = port_label(info.labels);
    out.push_back(std::move(info));
  }
  return out;
}

runtime_event::kind parse_event_kind(std::string_view action) {
  using kind = runtime_event::kind;
  if (action == "create")
    return kind::create;
  if (action == "start")
    return kind::start;
  if (action == "die")
    return kind::die;
  if (action == "oom")
    return kind::oom;
  if (action == "kill")
    return kind::kill;
  if (action == "stop")
    return kind::stop;
  if (action == "destroy")
    return kind::destroy;
  return kind::other;
}

result<runtime_event> parse_event(std::string_view line) {
  auto value = parse_json(line, "event");
  if (!value)
    return value.error();
  auto* obj = value->if_object();
  if (obj == nullptr)
    return malformed("event", "not an object");
  runtime_event event;
  event.what = parse_event_kind(string_field(*obj, "Action"));
  event.id = string_field(*obj, "id");
  if (auto* actor = object_field(*obj, "Actor")) {
    if (event.id.empty())
      event.id = string_field(*actor, "ID");
    auto attributes = string_map(object_field(*actor, "Attributes"));
    if (auto it = attributes.find("name"); it != attributes.end())
      event.name = it->second;
    if (auto it = attributes.find("exitCode"); it != attributes.end()) {
      // The engine sends exitCode as a string; only `die` carries one.
      int code = 0;
      if (event.what == runtime_event::kind::die
          && parse_int(it->second, code))
        event.exit_code = code;
    }
    for (auto key : engine_attributes)
      attributes.erase(std::string{key});
    event.labels = std::move(attributes);
  }
  // timeNano (~1.8e18) does not survive a double: read it as an integer.
  if (auto* nano = obj->if_contains("timeNano")) {
    json::error_code ec;
    auto n = nano->to_number<int64_t>(ec);
    if (!ec)
      event.time_nano = n;
  }
  event.port = port_label(event.labels);
  return event;
}

uint16_t port_label(const std::map<std::string, std::string>& labels) {
  auto it = labels.find(corral::labels::port);
  if (it == labels.end())
    return 0;
  int port = 0;
  if (!parse_int(it->second, port) || port < 1
      || port > std::numeric_limits<uint16_t>::max())
    return 0;
  return static_cast<uint16_t>(port);
}

result<void> take_event_lines(std::string& buffer,
                              const std::function<void(const result<runtime_event>&)>& on_line) {
  size_t begin = 0;
  for (auto end = buffer.find('\n'); end != std::string::npos; end = buffer.find('\n', begin)) {
    std::string_view line{buffer.data() + begin, end - begin};
    begin = end + 1;
    if (line.find_first_not_of(" \r\t") == std::string_view::npos)
      continue;
    on_line(parse_event(line));
  }
  buffer.erase(0, begin);
  if (buffer.size() > max_event_line)
    return runtime_error{runtime_errc::protocol_error,
                         "the Docker daemon sent an event line longer than "
                           + std::to_string(max_event_line) + " bytes",
                         0};
  return {};
}

} // namespace corral::docker
