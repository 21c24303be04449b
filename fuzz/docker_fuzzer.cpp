// Fuzzes the parsing of what the Docker engine sends: every input goes
// through each parser (an events stream, a list answer, an inspect answer,
// the create and image answers, error bodies). Any bytes must give a value or
// a runtime_error, never a crash, a hang or a leak.
#include "runtime/docker_api.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace corral;

namespace {

// Feeds `text` to take_event_lines as a stream cut in chunks of `chunk`
// bytes (as libcurl may deliver it), and returns the lines handed out.
size_t stream_lines(std::string_view text, size_t chunk) {
  std::string buffer;
  size_t lines = 0;
  for (size_t at = 0; at < text.size(); at += chunk) {
    buffer.append(text.substr(at, chunk));
    auto ok = docker::take_event_lines(buffer, [&](const result<runtime_event>& event) {
      ++lines;
      if (!event && event.error().message.empty())
        std::abort();
    });
    if (!ok)
      return lines;
    // What stays is never a complete line.
    if (buffer.find('\n') != std::string::npos)
      std::abort();
  }
  return lines;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};

  // The events stream: however it is cut, the same lines come out.
  auto whole = stream_lines(text, text.size() + 1);
  auto cut = stream_lines(text, 1 + size % 7);
  if (whole != cut)
    std::abort();

  // One line of it.
  if (auto event = docker::parse_event(text)) {
    if (event->port != docker::port_label(event->labels))
      std::abort();
  }

  // GET /containers/json and GET /containers/{id}/json.
  if (auto list = docker::parse_list(text)) {
    for (auto& info : *list)
      (void) info.id.size();
  }
  (void) docker::parse_inspect(text);

  // POST /containers/create, GET /images/{name}/json, and any error body.
  (void) docker::parse_created_id(text);
  (void) docker::parse_image_id(text);
  (void) docker::error_message(text);
  return 0;
}
