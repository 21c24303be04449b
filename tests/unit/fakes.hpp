// Fakes for actor unit tests: a container runtime that answers at once
// unless a test holds an operation, and a prober whose probes the test
// answers by hand, one at a time.
#pragma once

#include "runtime/container_runtime.hpp"
#include "runtime/prober.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace corral::test {

/// An in-memory container engine. Every call is recorded in `calls`
/// ("create acts-8000", "start c1", "stop c1", "remove c1"); failures can be
/// queued per operation, and an operation can be held (hold("remove")): its
/// calls then block until released, as a slow engine's would.
///
/// Safe to call from several threads (detached container actors). The
/// public members are for tests on the test scheduler, where nothing else
/// runs while the test reads them; a test with real threads uses the
/// locking accessors (snapshot_calls(), size(), wait_held()).
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
    wait_if_held("create");
    std::lock_guard guard{mutex_};
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
    wait_if_held("start");
    std::lock_guard guard{mutex_};
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
    wait_if_held("stop");
    std::lock_guard guard{mutex_};
    calls.push_back("stop " + id);
    if (auto i = containers.find(id); i != containers.end())
      i->second.running = false;
    return {};
  }

  result<void> kill(const std::string& id, const std::string&) override {
    wait_if_held("kill");
    std::lock_guard guard{mutex_};
    calls.push_back("kill " + id);
    if (auto i = containers.find(id); i != containers.end())
      i->second.running = false;
    return {};
  }

  result<void> remove(const std::string& id_or_name, bool) override {
    wait_if_held("remove");
    std::lock_guard guard{mutex_};
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
    wait_if_held("rename");
    std::lock_guard guard{mutex_};
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
    std::lock_guard guard{mutex_};
    auto i = containers.find(id);
    if (i == containers.end())
      return runtime_error{runtime_errc::not_found, "no such container " + id, 404};
    return info_of(i->first, i->second);
  }

  /// The containers carrying every one of `wanted` labels, as the engine's
  /// label filter lists them.
  result<std::vector<container_info>>
  list(const std::map<std::string, std::string>& wanted) override {
    std::lock_guard guard{mutex_};
    std::vector<container_info> result;
    for (auto& [id, e] : containers) {
      bool all = std::all_of(wanted.begin(), wanted.end(), [&](const auto& kv) {
        auto label = e.spec.labels.find(kv.first);
        return label != e.spec.labels.end() && label->second == kv.second;
      });
      if (all)
        result.push_back(info_of(id, e));
    }
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

  // -- holding operations, as a slow engine would --------------------------------------------

  /// From now on, calls of `operation` ("create", "start", "stop", "kill",
  /// "remove", "rename") block until release(operation).
  void hold(const std::string& operation) {
    std::lock_guard guard{gate_mutex_};
    held_.insert(operation);
  }

  /// Lets the blocked and future calls of `operation` through.
  void release(const std::string& operation) {
    std::lock_guard guard{gate_mutex_};
    held_.erase(operation);
    gate_.notify_all();
  }

  /// Waits until `n` calls are blocked in `operation`; false after `timeout`.
  bool wait_held(const std::string& operation, size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock{gate_mutex_};
    return gate_.wait_for(lock, timeout, [&] { return blocked_[operation] >= n; });
  }

  /// The calls so far, for a test whose actors run on threads of their own.
  std::vector<std::string> snapshot_calls() const {
    std::lock_guard guard{mutex_};
    return calls;
  }

  /// How many containers exist.
  size_t size() const {
    std::lock_guard guard{mutex_};
    return containers.size();
  }

  /// Names of running containers, sorted.
  std::vector<std::string> running() const {
    std::lock_guard guard{mutex_};
    std::vector<std::string> names;
    for (auto& [id, e] : containers)
      if (e.running)
        names.push_back(e.spec.name);
    std::sort(names.begin(), names.end());
    return names;
  }

  /// The id of the container named `name`, or "".
  std::string id_of(const std::string& name) const {
    std::lock_guard guard{mutex_};
    for (auto& [id, e] : containers)
      if (e.spec.name == name)
        return id;
    return {};
  }

  /// How often `call` was recorded.
  size_t count(const std::string& call) const {
    std::lock_guard guard{mutex_};
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

  /// Blocks while `operation` is held.
  void wait_if_held(const std::string& operation) {
    std::unique_lock lock{gate_mutex_};
    if (held_.count(operation) == 0)
      return;
    ++blocked_[operation];
    gate_.notify_all();
    gate_.wait(lock, [&] { return held_.count(operation) == 0; });
    --blocked_[operation];
  }

  int next_id_ = 1;
  // Guards the members above; recursive, because on_remove may look at the
  // fake from inside remove().
  mutable std::recursive_mutex mutex_;
  std::mutex gate_mutex_;
  std::condition_variable gate_;
  std::set<std::string> held_;
  std::map<std::string, size_t> blocked_;
};

/// A prober that only records probes; the test answers them, oldest first
/// and one at a time, as a real prober's answers arrive: a stale probe's
/// answer comes on its own, before the probe that replaced it. Safe to call
/// from several threads; the answers run on the test's thread.
class fake_prober : public prober {
public:
  struct pending_probe {
    uint16_t port;
    std::function<void(probe_result)> done;
  };

  void probe(uint16_t port, std::chrono::milliseconds,
             std::function<void(probe_result)> done) override {
    std::lock_guard guard{mutex_};
    pending_.push_back({port, std::move(done)});
  }

  /// Probes of `port` not answered yet.
  size_t pending(uint16_t port) const {
    std::lock_guard guard{mutex_};
    return static_cast<size_t>(std::count_if(pending_.begin(), pending_.end(),
                                             [&](auto& p) { return p.port == port; }));
  }

  /// Answers the oldest pending probe of `port`; false when none was out.
  bool answer(uint16_t port, bool passed, const std::string& reason = "status 500") {
    return answer_as(port, passed ? probe_outcome::ok : probe_outcome::failed_status, reason);
  }

  /// Answers the oldest pending probe of `port` with `outcome` (which
  /// passes only when ok); false when none was out.
  bool answer_as(uint16_t port, probe_outcome outcome,
                 const std::string& reason = "status 500") {
    std::function<void(probe_result)> done;
    {
      std::lock_guard guard{mutex_};
      auto i = std::find_if(pending_.begin(), pending_.end(),
                            [&](auto& p) { return p.port == port; });
      if (i == pending_.end())
        return false;
      done = std::move(i->done);
      pending_.erase(i);
    }
    bool passed = outcome == probe_outcome::ok;
    probe_result result;
    result.passed = passed;
    result.outcome = outcome;
    result.status = outcome == probe_outcome::ok              ? 200
                    : outcome == probe_outcome::failed_status ? 500
                                                              : 0;
    result.latency = std::chrono::milliseconds(1);
    result.reason = passed ? "" : reason;
    done(std::move(result));
    return true;
  }

  /// Drops unanswered probes (their callbacks hold actor handles).
  void clear() {
    std::vector<pending_probe> dropped;
    {
      std::lock_guard guard{mutex_};
      dropped.swap(pending_);
    }
  }

private:
  mutable std::mutex mutex_;
  std::vector<pending_probe> pending_;
};

} // namespace corral::test
