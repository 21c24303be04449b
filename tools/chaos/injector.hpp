// Hurts one random ready container of the pool: SIGKILL through the Docker
// Engine API, or POST /api/v1/_crash straight to the container.
#pragma once

#include "runtime/container_runtime.hpp"
#include "tools/chaos/options.hpp"
#include "tools/chaos/run_clock.hpp"
#include "tools/chaos/status_monitor.hpp"
#include "tools/common/http_client.hpp"

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace corral::chaos {

/// What one attempt to inject a fault came to.
enum class injection : uint8_t {
  /// The fault was injected and is being followed.
  done,
  /// No slot could take it: none ready, or all busy with earlier faults.
  skipped,
  /// The engine or the container refused; see fault_injector::errors.
  failed,
};

/// Picks victims among the ready slots of corral's latest /status that have
/// no unrepaired fault, so that a slot is never hit while being replaced.
class fault_injector {
public:
  fault_injector(const chaos_options& options, status_monitor& monitor,
                 container_runtime& runtime, const run_clock& clock, uint64_t seed);

  /// SIGKILLs one victim's container, after checking with Docker that the
  /// container corral names is one of the pool's (label corral.pool) and runs.
  injection kill_one();

  /// POSTs /api/v1/_crash to one victim on 127.0.0.1:<port>.
  injection crash_one();

  /// Attempts skipped for want of a victim.
  uint64_t skipped() const { return skipped_; }
  /// Why failed attempts failed.
  const std::vector<std::string>& errors() const { return errors_; }

private:
  std::optional<slot_view> pick();
  injection fail(std::string message);

  const chaos_options& options_;
  status_monitor& monitor_;
  container_runtime& runtime_;
  const run_clock& clock_;
  std::mt19937_64 random_;
  http::client http_;
  uint64_t skipped_ = 0;
  std::vector<std::string> errors_;
};

} // namespace corral::chaos
