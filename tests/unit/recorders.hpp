// Stand-in listeners for actor tests: each records what it hears as text.
#pragma once

#include "actors/actors.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <memory>
#include <string>
#include <vector>

namespace corral::test {

/// What a recording listener heard, in order ("suspect 8000", "scale 3").
struct recording {
  std::vector<std::string> events;

  /// True when `event` was heard.
  bool heard(const std::string& event) const {
    return std::find(events.begin(), events.end(), event) != events.end();
  }
};

/// A port_sink for asks whose answer the test does not need.
struct discard_ports : port_sink {
  void deliver(std::vector<uint16_t>) override {
  }
};

/// Hears what the balancer tells its owner.
inline balancer_listener_actor::behavior_type
record_balancer_events(balancer_listener_actor::pointer, std::shared_ptr<recording> rec) {
  return {
    [=](atom::suspect, uint16_t port) { rec->events.push_back("suspect " + std::to_string(port)); },
    [=](atom::traffic) { rec->events.push_back("traffic"); },
  };
}

/// Hears what the health checker reports.
inline health_listener_actor::behavior_type
record_health_events(health_listener_actor::pointer, std::shared_ptr<recording> rec) {
  return {
    [=](atom::healthy, uint16_t port, const std::string& id) {
      rec->events.push_back("healthy " + std::to_string(port) + " " + id);
    },
    [=](atom::unhealthy, uint16_t port, const std::string& id, const std::string& reason) {
      rec->events.push_back("unhealthy " + std::to_string(port) + " " + id);
      rec->events.push_back("reason " + reason);
    },
  };
}

/// Hears scale requests and grants them.
inline scale_listener_actor::behavior_type
record_scale_requests(scale_listener_actor::pointer, std::shared_ptr<recording> rec) {
  return {
    [=](atom::scale, uint32_t n) -> uint32_t {
      rec->events.push_back("scale " + std::to_string(n));
      return n;
    },
  };
}

} // namespace corral::test
