// The container runtime over the Docker Engine API (v1.41) on a unix socket.
#pragma once

#include "runtime/container_runtime.hpp"

#include <chrono>
#include <string>

namespace corral {

/// Timeouts of docker_runtime's calls to the engine.
struct docker_timeouts {
  /// Until the engine's socket accepted the connection.
  std::chrono::milliseconds connect{2000};
  /// A whole request and answer; the events stream has none.
  std::chrono::milliseconds call{15000};
  /// Added to a stop's own timeout: the engine answers a stop only after the
  /// container exited, up to `timeout` after SIGTERM plus the SIGKILL.
  std::chrono::milliseconds stop_margin{10000};
};

/// What a call that got no answer from the daemon means: `reason` is
/// libcurl's text, `os_errno` the system error behind it (0 if none). A
/// local errno (EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL) is corral's
/// own trouble (local_resources), never the daemon's; otherwise a timeout
/// or an unreachable daemon, with a hint.
runtime_error transport_failure(std::string reason, int os_errno, bool timed_out,
                                const std::string& socket_path);

/// A container_runtime that speaks the Docker Engine API over a unix socket
/// with libcurl. Every call uses its own easy handle, so one instance serves
/// several threads at once without a lock. URLs are pinned to /v1.41, the
/// API version of the daemon corral was verified against. Container and
/// volume names that could change a URL (docker::is_valid_object_name) are
/// refused as engine_error before any request is made.
class docker_runtime final : public container_runtime {
public:
  /// Talks to the engine at `socket_path` (e.g. /var/run/docker.sock).
  /// Connects lazily: construction never fails, the first call reports an
  /// unreachable daemon.
  explicit docker_runtime(std::string socket_path,
                          docker_timeouts timeouts = {});

  /// `GET /_ping`.
  result<void> ping() override;

  /// `GET /images/{image}/json`; 404 is image_missing.
  result<std::string> image_id(const std::string& image) override;

  /// `POST /containers/create?name=`; 404 (no such image) is image_missing,
  /// 409 is name_conflict. The body is docker::create_body(spec).
  result<std::string> create(const container_spec& spec) override;

  /// `POST /containers/{id}/start`; 304 (running already) succeeds, 404 is
  /// not_found.
  result<void> start(const std::string& id) override;

  /// `POST /containers/{id}/stop?t=`; 304 (not running) succeeds, 404 is
  /// not_found. Waits up to `timeout` plus docker_timeouts::stop_margin.
  result<void> stop(const std::string& id,
                    std::chrono::seconds timeout) override;

  /// `POST /containers/{id}/kill?signal=`; 409 (not running) succeeds, 404 is
  /// not_found.
  result<void> kill(const std::string& id,
                    const std::string& signal = "SIGKILL") override;

  /// `DELETE /containers/{id}?force=&v=false` (named volumes stay); 404
  /// succeeds.
  result<void> remove(const std::string& id, bool force) override;
  /// `POST /containers/{id}/rename?name=`; 404 is not_found, 409 is
  /// name_conflict.
  result<void> rename(const std::string& id, const std::string& new_name) override;

  /// `GET /containers/{id}/json`; 404 is not_found.
  result<container_info> inspect(const std::string& id) override;

  /// `GET /containers/json?all=1&filters={"label":[...]}`. The list has no
  /// OOM flag: oom_killed is always false here, inspect tells it.
  result<std::vector<container_info>>
  list(const std::map<std::string, std::string>& labels) override;

  /// `DELETE /volumes/{name}`; 404 succeeds, 409 (in use, even by a stopped
  /// container) is engine_error.
  result<void> remove_volume(const std::string& name) override;

  /// `GET /events?filters=` for the lifecycle events of containers carrying
  /// `labels`, read with libcurl's multi interface, polling `stop` every 50 ms:
  /// the engine sends nothing on an idle stream, and libcurl's progress
  /// callback fires only a few times a second there, too rarely for the
  /// contract's 100 ms.
  result<void>
  watch_events(const std::map<std::string, std::string>& labels,
               const std::function<void()>& on_connected,
               const std::function<void(const runtime_event&)>& on_event,
               const std::atomic<bool>& stop) override;

private:
  std::string socket_path_;
  docker_timeouts timeouts_;
};

} // namespace corral
