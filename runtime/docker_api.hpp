// The Docker Engine API (v1.41) as pure functions: request bodies, query
// strings and response parsing, with no I/O, so they are unit-tested without
// a daemon. docker_runtime does the talking.
#pragma once

#include "runtime/container_runtime.hpp"
#include "runtime/result.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace corral::docker {

/// The JSON body of `POST /containers/create` for `spec`: host networking,
/// env PORT=<port> plus spec.env, the labels, the shared volume (if any), no
/// engine restart policy (restarts are the supervisor's business), Init and
/// StopTimeout, and the confinement the spec asks for: CapDrop, CapAdd,
/// SecurityOpt no-new-privileges, ReadonlyRootfs, Tmpfs, User, Memory (with
/// MemorySwap equal to it: no swap), NanoCpus, PidsLimit and a json-file
/// LogConfig with max-size and max-file.
std::string create_body(const container_spec& spec);

/// The `filters` JSON that selects containers carrying every label:
/// `{"label":["k=v",...]}`. Not URL-encoded yet.
std::string label_filters(const std::map<std::string, std::string>& labels);

/// The `filters` JSON for the events stream: container lifecycle events only
/// (no exec_* or health noise), carrying every label. Not URL-encoded yet.
std::string event_filters(const std::map<std::string, std::string>& labels);

/// Percent-encodes everything but RFC 3986 unreserved characters, for query
/// parameter values (the engine rejects raw JSON with spaces in a URL).
std::string url_encode(std::string_view text);

/// True for a container id or name, or a volume name, the engine accepts:
/// `[a-zA-Z0-9][a-zA-Z0-9_.-]*`. Anything else could change the request's
/// path or query, so it is refused before it reaches a URL.
bool is_valid_object_name(std::string_view name);

/// True for an image reference (`name[:tag]`, `repo/name`, `name@sha256:...`)
/// that is safe to put into a URL path as is.
bool is_valid_image_reference(std::string_view image);

/// The engine's error text: the `message` of a `{"message":"..."}` body, or
/// the trimmed body itself when it is not one (a few errors are text/plain).
std::string error_message(std::string_view body);

/// The `Id` of a `POST /containers/create` answer.
result<std::string> parse_created_id(std::string_view body);

/// The `Id` ("sha256:...") of a `GET /images/{name}/json` answer.
result<std::string> parse_image_id(std::string_view body);

/// One container from `GET /containers/{id}/json`.
result<container_info> parse_inspect(std::string_view body);

/// The containers of `GET /containers/json`. The list has no exit code field:
/// it is taken from the `Status` text ("Exited (137) 5 seconds ago").
result<std::vector<container_info>> parse_list(std::string_view body);

/// One line of the `GET /events` stream. The engine copies a container's
/// labels into `Actor.Attributes` next to its own keys (`image`, `name`,
/// `exitCode`, `signal`); those engine keys are not reported as labels.
result<runtime_event> parse_event(std::string_view line);

/// An event line is a few hundred bytes; a rest this long without a newline
/// is not the events protocol.
constexpr size_t max_event_line = 1 << 20;

/// Takes every complete line out of `buffer` (the `GET /events` stream as
/// it arrived so far), parses each one that is not blank with parse_event
/// and hands the result to `on_line`, in order; the incomplete rest stays in
/// `buffer` for the next chunk. Fails when that rest is longer than
/// max_event_line.
result<void> take_event_lines(std::string& buffer,
                              const std::function<void(const result<runtime_event>&)>& on_line);

/// Maps an event `Action` ("die", "start", ...) to its kind.
runtime_event::kind parse_event_kind(std::string_view action);

/// The corral.port label as a port, 0 when missing or not in 1..65535.
uint16_t port_label(const std::map<std::string, std::string>& labels);

} // namespace corral::docker
