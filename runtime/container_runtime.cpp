// Names for the runtime's enums, and the container spec's fingerprint.
#include "runtime/container_runtime.hpp"

#include <algorithm>
#include <cstdio>

namespace corral {

uint64_t spec_fingerprint(const container_spec& spec) {
  // One field per line, the environment sorted: the order a config lists
  // variables in does not make containers different.
  auto env = spec.env;
  std::sort(env.begin(), env.end());
  std::string text = "image=" + spec.image + "\n";
  for (auto& e : env)
    text += "env=" + e + "\n";
  text += "volume=" + spec.volume + "\npath=" + spec.volume_path + "\n";
  text += "init=" + std::string{spec.init ? "1" : "0"} + "\n";
  text += "stop_timeout=" + std::to_string(spec.stop_timeout.count()) + "\n";
  // The confinement; lists in the order given (the engine applies CapDrop
  // before CapAdd whatever the order, but a reordered list is rare enough
  // that one needless rolling update is no harm).
  for (auto& c : spec.cap_drop)
    text += "cap_drop=" + c + "\n";
  for (auto& c : spec.cap_add)
    text += "cap_add=" + c + "\n";
  text += "no_new_privileges=" + std::string{spec.no_new_privileges ? "1" : "0"} + "\n";
  text += "read_only=" + std::string{spec.read_only ? "1" : "0"} + "\n";
  for (auto& t : spec.tmpfs)
    text += "tmpfs=" + t + "\n";
  text += "user=" + spec.user + "\n";
  text += "memory=" + std::to_string(spec.memory) + "\n";
  text += "nano_cpus=" + std::to_string(spec.nano_cpus) + "\n";
  text += "pids=" + std::to_string(spec.pids) + "\n";
  text += "log=" + std::to_string(spec.log_max_size) + "/" + std::to_string(spec.log_max_files)
          + "\n";
  uint64_t hash = 0xcbf29ce484222325ULL; // FNV-1a, 64 bits
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash == 0 ? 1 : hash; // 0 means "no label"
}

std::string spec_label(uint64_t fingerprint) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fingerprint));
  return buf;
}

uint64_t parse_spec_label(const std::map<std::string, std::string>& labels) {
  auto i = labels.find(labels::spec);
  if (i == labels.end() || i->second.size() != 16)
    return 0;
  uint64_t value = 0;
  for (char c : i->second) {
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0)
      return 0;
    value = value * 16 + static_cast<uint64_t>(digit);
  }
  return value;
}

bool retryable(const runtime_error& error) {
  if (error.code == runtime_errc::image_missing)
    return false;
  // The engine refuses the settings themselves (an invalid mount, a bad
  // value): the same request fails the same way every time.
  return !(error.code == runtime_errc::engine_error && error.http_status == 400);
}

const char* to_string(runtime_errc code) {
  switch (code) {
    case runtime_errc::daemon_unreachable:
      return "daemon_unreachable";
    case runtime_errc::image_missing:
      return "image_missing";
    case runtime_errc::name_conflict:
      return "name_conflict";
    case runtime_errc::not_found:
      return "not_found";
    case runtime_errc::engine_error:
      return "engine_error";
    case runtime_errc::protocol_error:
      return "protocol_error";
    case runtime_errc::timeout:
      return "timeout";
    case runtime_errc::cancelled:
      return "cancelled";
    case runtime_errc::local_resources:
      return "local_resources";
  }
  return "unknown";
}

container_status parse_container_status(const std::string& text) {
  if (text == "created")
    return container_status::created;
  if (text == "running")
    return container_status::running;
  if (text == "paused")
    return container_status::paused;
  if (text == "restarting")
    return container_status::restarting;
  if (text == "removing")
    return container_status::removing;
  if (text == "exited")
    return container_status::exited;
  if (text == "dead")
    return container_status::dead;
  return container_status::unknown;
}

const char* to_string(container_status status) {
  switch (status) {
    case container_status::created:
      return "created";
    case container_status::running:
      return "running";
    case container_status::paused:
      return "paused";
    case container_status::restarting:
      return "restarting";
    case container_status::removing:
      return "removing";
    case container_status::exited:
      return "exited";
    case container_status::dead:
      return "dead";
    case container_status::unknown:
      return "unknown";
  }
  return "unknown";
}

} // namespace corral
