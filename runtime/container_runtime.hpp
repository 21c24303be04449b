// The container runtime contract: plain structs and a pure interface, so that
// actors never see HTTP or JSON and unit tests can swap in a fake.
#pragma once

#include "runtime/result.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace corral {

/// Labels corral puts on every container it creates. A restarted corral finds
/// its pool's containers by these, never by name.
namespace labels {
inline constexpr const char* pool = "corral.pool";
inline constexpr const char* port = "corral.port";
inline constexpr const char* owner = "corral.owner";
/// spec_fingerprint() of what the container was created from, in hex: a
/// restarted corral adopts a container only when it matches.
inline constexpr const char* spec = "corral.spec";
} // namespace labels

/// Everything needed to create one pool container.
struct container_spec {
  /// Container name, `<pool>-<port>`.
  std::string name;
  std::string image;
  /// The port the workload must bind on 127.0.0.1; also passed as env PORT.
  uint16_t port = 0;
  /// Extra environment, `KEY=VALUE` (PORT is added by the runtime).
  std::vector<std::string> env;
  std::map<std::string, std::string> labels;
  /// Named volume shared by the pool, mounted at volume_path. Empty: none.
  std::string volume;
  std::string volume_path;
  /// How long `docker stop` waits after SIGTERM before SIGKILL.
  std::chrono::seconds stop_timeout{5};
  /// Run an init process as PID 1 (for images that ignore SIGTERM).
  bool init = false;

  // Confinement. The defaults here are the engine's own (nothing confined);
  // the pool's settings (actors/settings.hpp) confine by default.
  /// Capabilities dropped and added ("ALL", "NET_RAW", ...).
  std::vector<std::string> cap_drop;
  std::vector<std::string> cap_add;
  /// SecurityOpt no-new-privileges.
  bool no_new_privileges = false;
  /// A read-only root filesystem.
  bool read_only = false;
  /// tmpfs mounts, "/path" or "/path:options".
  std::vector<std::string> tmpfs;
  /// Config.User; empty: the image's USER.
  std::string user;
  /// Memory limit in bytes, swap included (so no swap); 0: none.
  uint64_t memory = 0;
  /// CPU limit in billionths of a CPU (NanoCpus); 0: none.
  int64_t nano_cpus = 0;
  /// Process and thread limit (PidsLimit); 0: none.
  uint32_t pids = 0;
  /// json-file log rotation: max-size in bytes and max-file; 0: the engine's
  /// default driver and options.
  uint64_t log_max_size = 0;
  uint32_t log_max_files = 0;
};

/// A fingerprint of everything in `spec` that makes two containers of a
/// pool interchangeable: the image (an image ID, so a re-tagged image
/// differs), the environment, the volume and its path, init, the stop
/// timeout and the confinement (capabilities, no-new-privileges, read-only
/// root, tmpfs, user, limits, log rotation). Not the name, port or labels,
/// which differ per slot. Stable across runs (FNV-1a over a canonical text);
/// a version of corral that adds a setting changes it, and so replaces
/// containers of an older spec by a rolling update.
uint64_t spec_fingerprint(const container_spec& spec);

/// The fingerprint as the corral.spec label writes it (16 hex digits), and
/// back; 0 for a missing or malformed label.
std::string spec_label(uint64_t fingerprint);
uint64_t parse_spec_label(const std::map<std::string, std::string>& labels);

/// Whether another attempt can fix a failed create or start: not when the
/// image is missing or the engine refuses the container's settings (400).
bool retryable(const runtime_error& error);

/// Where a container is in the engine's own lifecycle.
enum class container_status : uint8_t {
  created,
  running,
  paused,
  restarting,
  removing,
  exited,
  dead,
  unknown,
};

/// Parses the engine's status word ("running", "exited", ...).
container_status parse_container_status(const std::string& text);
const char* to_string(container_status status);

/// What the engine reports about one container.
struct container_info {
  std::string id;
  /// Without the engine's leading '/'.
  std::string name;
  std::string image;
  std::map<std::string, std::string> labels;
  container_status status = container_status::unknown;
  int exit_code = 0;
  bool oom_killed = false;
  /// The corral.port label, 0 when missing or malformed.
  uint16_t port = 0;
};

/// A container lifecycle event from the engine's event stream.
struct runtime_event {
  enum class kind : uint8_t { create, start, die, oom, kill, stop, destroy, other };
  kind what = kind::other;
  std::string id;
  std::string name;
  std::map<std::string, std::string> labels;
  /// Set for `die`; -1 otherwise.
  int exit_code = -1;
  /// The corral.port label, 0 when missing.
  uint16_t port = 0;
  /// Engine time of the event, nanoseconds since the epoch.
  int64_t time_nano = 0;
};

/// The container engine as corral needs it. Every call blocks until the engine
/// answered, so callers run on threads of their own (detached actors, the
/// events thread), never on the actor scheduler's or the proxy's threads.
/// Implementations are safe to call from several threads at once.
class container_runtime {
public:
  virtual ~container_runtime() = default;

  /// Checks that the engine answers.
  virtual result<void> ping() = 0;

  /// The ID of the local image `image` (a tag or an ID; corral never
  /// pulls). Fails with image_missing when there is none.
  virtual result<std::string> image_id(const std::string& image) = 0;

  /// Creates a container and returns its id. Fails with name_conflict when
  /// the name is taken and image_missing when the image is not present.
  virtual result<std::string> create(const container_spec& spec) = 0;

  /// Starts a created container.
  virtual result<void> start(const std::string& id) = 0;

  /// Sends SIGTERM, then SIGKILL after `timeout`. Stopping a stopped
  /// container succeeds.
  virtual result<void> stop(const std::string& id,
                            std::chrono::seconds timeout) = 0;

  /// Sends `signal` ("SIGKILL" by default). Killing a stopped container
  /// succeeds.
  virtual result<void> kill(const std::string& id,
                            const std::string& signal = "SIGKILL") = 0;

  /// Removes a container (`force` also kills a running one). Removing a
  /// missing container succeeds: the goal state holds.
  virtual result<void> remove(const std::string& id, bool force) = 0;

  /// Renames a container (also a running or dying one), which frees its old
  /// name at once. Fails with name_conflict when `new_name` is taken.
  virtual result<void> rename(const std::string& id, const std::string& new_name) = 0;

  /// Reports one container by id or name.
  virtual result<container_info> inspect(const std::string& id) = 0;

  /// Lists all containers (running or not) carrying every given label.
  virtual result<std::vector<container_info>>
  list(const std::map<std::string, std::string>& labels) = 0;

  /// Removes a named volume; a missing one succeeds.
  virtual result<void> remove_volume(const std::string& name) = 0;

  /// Streams container events carrying every given label and calls
  /// `on_event` for each, until `stop` becomes true (checked at least every
  /// 100 ms) or the stream breaks. `on_connected` runs once the engine
  /// accepted the stream. Returns cancelled after a stop, an error otherwise.
  virtual result<void>
  watch_events(const std::map<std::string, std::string>& labels,
               const std::function<void()>& on_connected,
               const std::function<void(const runtime_event&)>& on_event,
               const std::atomic<bool>& stop) = 0;
};

} // namespace corral
