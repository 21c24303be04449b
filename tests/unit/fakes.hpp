// Fakes for actor unit tests: a container runtime that never blocks and a
// prober whose probes the test answers by hand.
#pragma once

#include "runtime/container_runtime.hpp"
#include "runtime/prober.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace corral::test {

/// An in-memory container engine. Every call is recorded in `calls`
/// ("create acts-8000", "start c1", "stop c1", "remove c1"); failures can be
/// queued per operation.
class fake_runtime : public container_runtime {
public:
  struct entry {
    container_spec spec;
    bool running = false;
  };

  /// Containers by id.
  std::map<std::string, entry> containers;
  std::vector<std::string> calls;
  /// The next create() calls fail with these, in order.
  std::deque<runtime_error> create_failures;
  /// The next start() calls fail with these, in order.
  std::deque<runtime_error> start_failures;
  /// The next rename() calls fail with these, in order.
  std::deque<runtime_error> rename_failures;
  /// The next remove() calls fail with these, in order.
  std::deque<runtime_error> remove_failures;
  /// Called at the start of every remove(), to look at the world just then.
  std::function<void(const std::string&)> on_remove;

  result<void> ping() override {
    return {};
  }

  /// Every image exists; its ID is "sha256:" and its name.
  result<std::string> image_id(const std::string& image) override {
    return "sha256:" + image;
  }

  result<std::string> create(const container_spec& spec) override {
    calls.push_back("create " + spec.name);
    if (!create_failures.empty()) {
      auto err = create_failures.front();
      create_failures.pop_front();
      return err;
    }
    for (auto& [id, e] : containers)
      if (e.spec.name == spec.name)
        return runtime_error{runtime_errc::name_conflict, "name taken: " + spec.name, 409};
    auto id = "c" + std::to_string(next_id_++);
    containers[id] = {spec, false};
    return id;
  }

  result<void> start(const std::string& id) override {
    calls.push_back("start " + id);
    if (!start_failures.empty()) {
      auto err = start_failures.front();
      start_failures.pop_front();
      return err;
    }
    auto i = containers.find(id);
    if (i == containers.end())
      return runtime_error{runtime_errc::not_found, "no such container " + id, 404};
    i->second.running = true;
    return {};
  }

  result<void> stop(const std::string& id, std::chrono::seconds) override {
    calls.push_back("stop " + id);
    if (auto i = containers.find(id); i != containers.end())
      i->second.running = false;
    return {};
  }

  result<void> kill(const std::string& id, const std::string&) override {
    calls.push_back("kill " + id);
    if (auto i = containers.find(id); i != containers.end())
      i->second.running = false;
    return {};
  }

  result<void> remove(const std::string& id_or_name, bool) override {
    calls.push_back("remove " + id_or_name);
    if (on_remove)
      on_remove(id_or_name);
    if (!remove_failures.empty()) {
      auto err = remove_failures.front();
      remove_failures.pop_front();
      return err;
    }
    for (auto i = containers.begin(); i != containers.end(); ++i)
      if (i->first == id_or_name || i->second.spec.name == id_or_name) {
        containers.erase(i);
        break;
      }
    return {};
  }

  result<void> rename(const std::string& id, const std::string& new_name) override {
    calls.push_back("rename " + id + " " + new_name);
    if (!rename_failures.empty()) {
      auto err = rename_failures.front();
      rename_failures.pop_front();
      return err;
    }
    auto i = containers.find(id);
    if (i == containers.end())
      return runtime_error{runtime_errc::not_found, "no such container " + id, 404};
    i->second.spec.name = new_name;
    return {};
  }

  result<container_info> inspect(const std::string& id) override {
    auto i = containers.find(id);
    if (i == containers.end())
      return runtime_error{runtime_errc::not_found, "no such container " + id, 404};
    return info_of(i->first, i->second);
  }

  result<std::vector<container_info>>
  list(const std::map<std::string, std::string>&) override {
    std::vector<container_info> result;
    for (auto& [id, e] : containers)
      result.push_back(info_of(id, e));
    return result;
  }

  result<void> remove_volume(const std::string&) override {
    return {};
  }

  result<void> watch_events(const std::map<std::string, std::string>&,
                            const std::function<void()>&,
                            const std::function<void(const runtime_event&)>&,
                            const std::atomic<bool>&) override {
    return runtime_error{runtime_errc::cancelled, "the fake has no events", 0};
  }

  /// Names of running containers, sorted.
  std::vector<std::string> running() const {
    std::vector<std::string> names;
    for (auto& [id, e] : containers)
      if (e.running)
        names.push_back(e.spec.name);
    std::sort(names.begin(), names.end());
    return names;
  }

  /// The id of the container named `name`, or "".
  std::string id_of(const std::string& name) const {
    for (auto& [id, e] : containers)
      if (e.spec.name == name)
        return id;
    return {};
  }

  /// How often `call` was recorded.
  size_t count(const std::string& call) const {
    return static_cast<size_t>(std::count(calls.begin(), calls.end(), call));
  }

private:
  static container_info info_of(const std::string& id, const entry& e) {
    container_info info;
    info.id = id;
    info.name = e.spec.name;
    info.image = e.spec.image;
    info.labels = e.spec.labels;
    info.status = e.running ? container_status::running : container_status::created;
    info.port = e.spec.port;
    return info;
  }

  int next_id_ = 1;
};

/// A prober that only records probes; the test answers them.
class fake_prober : public prober {
public:
  struct pending_probe {
    uint16_t port;
    std::function<void(probe_result)> done;
  };

  void probe(uint16_t port, std::chrono::milliseconds,
             std::function<void(probe_result)> done) override {
    pending_.push_back({port, std::move(done)});
  }

  /// Probes of `port` not answered yet.
  size_t pending(uint16_t port) const {
    return static_cast<size_t>(std::count_if(pending_.begin(), pending_.end(),
                                             [&](auto& p) { return p.port == port; }));
  }

  /// Answers every pending probe of `port`; returns how many.
  size_t answer(uint16_t port, bool passed, const std::string& reason = "status 500") {
    return answer_as(port, passed ? probe_outcome::ok : probe_outcome::failed_status, reason);
  }

  /// Answers every pending probe of `port` with `outcome` (which passes
  /// only when ok); returns how many.
  size_t answer_as(uint16_t port, probe_outcome outcome,
                   const std::string& reason = "status 500") {
    bool passed = outcome == probe_outcome::ok;
    size_t n = 0;
    for (auto i = pending_.begin(); i != pending_.end();) {
      if (i->port == port) {
        auto done = std::move(i->done);
        i = pending_.erase(i);
        probe_result result;
        result.passed = passed;
        result.outcome = outcome;
        result.status = outcome == probe_outcome::ok ? 200
                        : outcome == probe_outcome::failed_status ? 500
                                                                   : 0;
        result.latency = std::chrono::milliseconds(1);
        result.reason = passed ? "" : reason;
        done(std::move(result));
        ++n;
      } else {
        ++i;
      }
    }
    return n;
  }

  /// Answers every pending probe alike; returns how many.
  size_t answer_all(bool passed) {
    size_t n = 0;
    std::vector<uint16_t> ports;
    for (auto& p : pending_)
      ports.push_back(p.port);
    for (auto port : ports)
      n += answer(port, passed);
    return n;
  }

  /// Drops unanswered probes (their callbacks hold actor handles).
  void clear() {
    pending_.clear();
  }

private:
  std::vector<pending_probe> pending_;
};

} // namespace corral::test
