// A GoogleTest fixture owning an actor system on CAF's test scheduler:
// nothing runs unless the test says so, and time moves only when told
// (guides/caf-0.17.md §12b; CAF's own test DSL crashes under GoogleTest).
#pragma once

#include "actors/metered_actor.hpp"
#include "log/log.hpp"
#include "metrics/actor_census.hpp"

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

namespace corral::test {

class actor_test : public ::testing::Test {
protected:
  static caf::actor_system_config& testing_config(caf::actor_system_config& cfg) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    return cfg;
  }

  /// Actors log their decisions; in unit tests that is noise unless asked
  /// for with CORRAL_TEST_LOG=debug (or info, warn).
  static caf::actor_system_config& quiet_logs(caf::actor_system_config& cfg) {
    auto level = log::level::error;
    if (const char* wanted = std::getenv("CORRAL_TEST_LOG"))
      log::parse_level(wanted, level);
    log::set_level(level);
    return cfg;
  }

  actor_test()
    : sys(testing_config(quiet_logs(cfg))),
      self(sys, true), // hidden: not counted by await_all_actors_done()
      sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {
  }

  /// Runs every pending message, but fires no timer.
  void run() {
    sched.run();
  }

  /// Moves the clock forward, fires what is due, then runs all messages.
  void advance(std::chrono::milliseconds d) {
    sched.advance_time(d);
    sched.run();
  }

  /// Returns the state of a stateful typed actor (corral's measured ones,
  /// or a plain one a test defines).
  template <class State, class Handle>
  State& state_of(const Handle& hdl) {
    auto ptr = caf::actor_cast<caf::abstract_actor*>(hdl);
    using measured = caf::stateful_actor<State, metered<typename Handle::base>>;
    if (auto* m = dynamic_cast<measured*>(ptr))
      return m->state;
    return dynamic_cast<caf::stateful_actor<State, typename Handle::base>&>(*ptr).state;
  }

  /// The census of `role` (and `port`), or an empty series when no actor
  /// of it ever enlisted.
  metrics::actor_series series_of(const std::string& role, uint16_t port = 0) {
    for (auto& s : census->snapshot(metrics::actor_census::now_ns()))
      if (s.role == role && s.port == port)
        return s;
    return {};
  }

  /// Sends `xs` to `dest` from `self`, runs the system, and returns the reply.
  template <class T, class Handle, class... Ts>
  T ask(const Handle& dest, Ts&&... xs) {
    T result{};
    auto handle = self->request(dest, caf::infinite, std::forward<Ts>(xs)...);
    run();
    bool answered = false;
    handle.receive([&](T& x) { result = std::move(x); answered = true; },
                   [&](caf::error& err) { ADD_FAILURE() << "error: " << sys.render(err); });
    EXPECT_TRUE(answered);
    return result;
  }

  /// Where the actors under test measure themselves.
  std::shared_ptr<metrics::actor_census> census = std::make_shared<metrics::actor_census>();
  caf::actor_system_config cfg; // declaration order == construction order
  caf::actor_system sys;
  caf::scoped_actor self;
  caf::scheduler::test_coordinator& sched;
};

} // namespace corral::test
