// Follows each injected fault through corral's /status: when corral noticed
// it (detection) and when the slot was ready again with a new container
// (replacement). Pure: time and observations come in as arguments.
#pragma once

#include "tools/common/admin_status.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace corral::chaos {

using clock = std::chrono::steady_clock;

/// corral's /status as tools/common reads it, for the tests' harness too.
using admin::parse_status;
using admin::pool_view;
using admin::proxy_counters;
using admin::slot_view;

/// How a container was hurt.
enum class fault_kind : uint8_t {
  /// SIGKILL through the Docker Engine API: the process is gone at once.
  kill,
  /// POST /api/v1/_crash: the process lives on but answers 500 to everything.
  crash,
};

/// "kill" or "crash".
const char* to_string(fault_kind kind);

/// One injected fault and what corral did about it.
struct fault {
  uint64_t id = 0;
  fault_kind kind = fault_kind::kill;
  uint16_t port = 0;
  /// The victim's container id.
  std::string container;
  /// Just before the signal or the POST left.
  clock::time_point injected;
  /// The first /status answer that no longer showed the victim ready on its port.
  std::optional<clock::time_point> detected;
  /// The first /status answer that showed the port ready with another container.
  std::optional<clock::time_point> replaced;
  /// The container that took the victim's place.
  std::string replacement;
  /// The slot states seen on the port from detection to replacement, each
  /// with when it was first seen ("gone" while the port had no slot); the
  /// last is the replacement's "ready".
  std::vector<std::pair<std::string, clock::time_point>> path;

  /// Milliseconds spent in each state of `path` before the next one, in
  /// order; a state seen twice appears twice. Empty until replaced.
  std::vector<std::pair<std::string, double>> phases_ms() const;

  /// Milliseconds from injection to detection, when detected.
  std::optional<double> detection_ms() const;
  /// Milliseconds from injection to the replacement being ready, when replaced.
  std::optional<double> replacement_ms() const;
};

/// A fault that reached a milestone in one observation.
struct fault_progress {
  fault snapshot;
  bool detected_now = false;
  bool replaced_now = false;
};

/// The faults of one run, open ones being matched against every /status.
class fault_tracker {
public:
  /// Starts following a fault; call it before injecting, so that no
  /// observation can slip between the injection and the tracking. Returns
  /// the fault's id.
  uint64_t open(fault_kind kind, uint16_t port, std::string container,
                clock::time_point injected);

  /// Forgets a fault whose injection failed.
  void cancel(uint64_t id);

  /// Matches one /status document against the open faults. `requested_at` is
  /// when the request left: a document asked for before a fault was injected
  /// cannot show it. `answered_at` is when the answer arrived, the time given
  /// to any milestone reached.
  std::vector<fault_progress> observe(const pool_view& view, clock::time_point requested_at,
                                      clock::time_point answered_at);

  /// Ports whose fault is not repaired yet: no new fault goes there.
  std::set<uint16_t> busy_ports() const;

  /// Faults not repaired yet.
  std::size_t open_count() const;

  /// Every fault so far, in the order injected.
  const std::vector<fault>& faults() const { return faults_; }

private:
  std::vector<fault> faults_;
  uint64_t next_id_ = 1;
};

/// The slots a new fault may hit: ready, with a container, and not `busy`.
std::vector<slot_view> eligible_victims(const pool_view& view,
                                        const std::set<uint16_t>& busy);

} // namespace corral::chaos
