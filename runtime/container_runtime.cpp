// Names for the runtime's enums.
#include "runtime/container_runtime.hpp"

namespace corral {

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
