// Plain settings for the actors; app/config.cpp fills them from TOML.
// No CAF here: the policy headers and the config loader include this.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace corral {

using std::chrono::milliseconds;

/// What happens to the pool's containers when corral exits.
enum class exit_policy : uint8_t { remove, keep };

/// [pool]: which containers, how many, where.
/// [pool] runtime: who runs the pool's backends.
enum class pool_runtime : uint8_t {
  /// corral runs containers of `image` on consecutive ports.
  docker,
  /// corral fronts `backends` it does not run: probed, balanced, never
  /// started or stopped.
  static_backends,
};

struct pool_settings {
  pool_runtime runtime = pool_runtime::docker;
  /// runtime = "static": the loopback ports of the backends, in order.
  std::vector<uint16_t> backends;
  /// Containers are named `<name>-<port>` and labelled corral.pool=<name>.
  std::string name = "acts";
  std::string image = "acts:latest";
  uint16_t start_port = 8000;
  uint32_t min_containers = 1;
  uint32_t max_containers = 10;
  /// Extra environment for every container.
  std::map<std::string, std::string> env;
  /// Named volume shared by every container, mounted at volume_path.
  std::string volume = "acts-data";
  std::string volume_path = "/data";
  exit_policy on_exit = exit_policy::remove;
  /// Grace between SIGTERM and SIGKILL when a container is stopped.
  milliseconds stop_timeout{5000};
  /// Run docker-init as PID 1, for images whose process ignores SIGTERM.
  bool init = false;
  /// Where the pool's lock (one corral per pool) and takeover socket live.
  std::string run_dir = "/run/corral";

  // -- confinement: what a container may do (least privilege by default) ------------
  /// Capabilities taken away, then given back ("NET_RAW", or "ALL"),
  /// upper case without the CAP_ prefix. With host networking, Docker's
  /// default NET_RAW would let a container sniff and spoof the host's packets.
  std::vector<std::string> cap_drop = {"ALL"};
  std::vector<std::string> cap_add;
  /// No setuid binary or file capability can raise a process's privileges.
  bool no_new_privileges = true;
  /// A read-only root filesystem; the volume and tmpfs mounts stay writable.
  bool read_only = true;
  /// tmpfs mounts, "/path" or "/path:options" ("/tmp:size=16m").
  std::vector<std::string> tmpfs;
  /// "uid:gid" (or a user name the image knows); empty: the image's USER.
  /// 65534 is nobody/nogroup.
  std::string user = "65534:65534";
  /// Memory limit in bytes (no swap on top); 0: none.
  uint64_t memory = uint64_t{256} << 20;
  /// CPU limit in CPUs (0.5 = half of one); 0: none.
  double cpus = 1.0;
  /// Most processes and threads at once; 0: none.
  uint32_t pids = 256;
  /// The json-file log driver's rotation: a file's size and how many are kept.
  uint64_t log_max_size = uint64_t{10} << 20;
  uint32_t log_max_files = 3;
};

/// [health]: probing, like Envoy's health checker.
struct health_settings {
  std::string path = "/api/v1/_health";
  /// The fault check interval for ready containers.
  milliseconds interval{1000};
  /// Per-probe timeout.
  milliseconds timeout{500};
  /// Consecutive failures that make a ready container unhealthy.
  uint32_t unhealthy_after = 1;
  /// Consecutive passes that make a starting container ready.
  uint32_t healthy_after = 1;
  /// Probe interval while a container is starting (HAProxy's `fastinter`).
  milliseconds start_interval{50};
  /// A container not ready this long after it started is replaced.
  milliseconds start_timeout{30000};
  /// Passive checking: this many 5xx answers or broken connections in a row
  /// from real traffic take a backend out of the rotation at once and have
  /// it probed now (Envoy's outlier detection); 0 turns it off.
  uint32_t passive_failures = 3;
};

/// [rollout]: how a new container spec replaces the pool's containers.
struct rollout_settings {
  /// Containers beyond the pool's size that may run during a rollout.
  uint32_t max_surge = 1;
  /// How many fewer ready containers than the pool's size may serve.
  uint32_t max_unavailable = 0;
};

/// [proxy] queue_timeout and queue_max: requests that find no ready backend
/// wait for one (HAProxy's `timeout queue`) instead of failing at once.
struct queue_settings {
  /// Longest wait; then 503 with Retry-After.
  milliseconds timeout{5000};
  /// Most requests waiting at once; more get 503 at once.
  uint32_t max = 1024;
};

/// What the balancer needs: its queue and the passive health threshold.
struct balancer_settings {
  queue_settings queue;
  uint32_t passive_failures = 3;
};

/// [restart]: backoff for slots that keep failing.
struct restart_settings {
  milliseconds backoff{1000};
  milliseconds max_backoff{30000};
};

/// When the first scaling window opens.
enum class scaling_start : uint8_t { first_request, startup };

/// [scaling]: the request-rate rule.
struct scaling_settings {
  milliseconds interval{120000};
  uint32_t requests_per_container = 20;
  scaling_start start = scaling_start::first_request;
  /// Longest wait for a leaving container's in-flight requests.
  milliseconds drain_timeout{10000};
  /// Shrink only after the lower size held for this many windows.
  uint32_t scale_down_after = 1;
  /// Most containers one decision may add or remove; 0 = no bound.
  uint32_t max_step = 0;
};

} // namespace corral
