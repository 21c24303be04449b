// Which engine events are deaths, and which deaths were the OOM killer's: an
// `oom` event followed by `die` is one death, an `oom` event alone none, and
// a `die` with exit 137 whose `oom` event was missed asks the engine.
#include "runtime/death_classifier.hpp"

#include <gtest/gtest.h>

#include <map>

using namespace corral;

namespace {

/// Answers inspect from a table and counts the calls; nothing else is used.
class inspect_only_runtime final : public container_runtime {
public:
  std::map<std::string, bool> oom_killed;
  int inspects = 0;

  result<container_info> inspect(const std::string& id) override {
    ++inspects;
    auto i = oom_killed.find(id);
    if (i == oom_killed.end())
      return runtime_error{runtime_errc::not_found, "no such container", 404};
    container_info info;
    info.id = id;
    info.status = container_status::exited;
    info.exit_code = 137;
    info.oom_killed = i->second;
    return info;
  }

  result<void> ping() override { return unused(); }
  result<std::string> image_id(const std::string&) override { return unused(); }
  result<std::string> create(const container_spec&) override { return unused(); }
  result<void> start(const std::string&) override { return unused(); }
  result<void> stop(const std::string&, std::chrono::seconds) override { return unused(); }
  result<void> kill(const std::string&, const std::string&) override { return unused(); }
  result<void> remove(const std::string&, bool) override { return unused(); }
  result<void> rename(const std::string&, const std::string&) override { return unused(); }
  result<std::vector<container_info>> list(const std::map<std::string, std::string>&) override {
    return unused();
  }
  result<void> remove_volume(const std::string&) override { return unused(); }
  result<void> watch_events(const std::map<std::string, std::string>&,
                            const std::function<void()>&,
                            const std::function<void(const runtime_event&)>&,
                            const std::atomic<bool>&) override {
    return unused();
  }

private:
  static runtime_error unused() {
    ADD_FAILURE() << "the classifier only inspects";
    return {runtime_errc::engine_error, "unused", 0};
  }
};

runtime_event event(runtime_event::kind what, std::string id, int exit_code = -1) {
  runtime_event e;
  e.what = what;
  e.id = std::move(id);
  e.port = 8000;
  e.exit_code = exit_code;
  return e;
}

using kind = runtime_event::kind;

} // namespace

TEST(death_classifier, an_oom_event_is_no_death_and_the_die_after_it_is_one_oom_death) {
  inspect_only_runtime runtime;
  death_classifier deaths{runtime};
  EXPECT_FALSE(deaths.classify(event(kind::oom, "c1")));
  auto death = deaths.classify(event(kind::die, "c1", 137));
  ASSERT_TRUE(death);
  EXPECT_EQ(death->port, 8000);
  EXPECT_EQ(death->id, "c1");
  EXPECT_EQ(death->exit_code, 137);
  EXPECT_TRUE(death->oom);
  EXPECT_EQ(runtime.inspects, 0); // the event said it already
}

TEST(death_classifier, a_sigkill_death_without_an_oom_event_asks_the_engine) {
  inspect_only_runtime runtime;
  runtime.oom_killed = {{"missed", true}, {"killed", false}};
  death_classifier deaths{runtime};
  auto missed = deaths.classify(event(kind::die, "missed", 137));
  ASSERT_TRUE(missed);
  EXPECT_TRUE(missed->oom);
  auto killed = deaths.classify(event(kind::die, "killed", 137));
  ASSERT_TRUE(killed);
  EXPECT_FALSE(killed->oom);
  // Gone before it could be asked: a plain death.
  auto gone = deaths.classify(event(kind::die, "gone", 137));
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->oom);
  EXPECT_EQ(runtime.inspects, 3);
}

TEST(death_classifier, other_exits_are_plain_deaths_without_asking) {
  inspect_only_runtime runtime;
  death_classifier deaths{runtime};
  auto crashed = deaths.classify(event(kind::die, "c", 3));
  ASSERT_TRUE(crashed);
  EXPECT_FALSE(crashed->oom);
  EXPECT_EQ(crashed->exit_code, 3);
  EXPECT_EQ(runtime.inspects, 0);
  for (auto k : {kind::create, kind::start, kind::kill, kind::stop, kind::destroy, kind::other})
    EXPECT_FALSE(deaths.classify(event(k, "c")));
}

TEST(death_classifier, an_oom_event_counts_for_its_own_container_once) {
  inspect_only_runtime runtime;
  runtime.oom_killed = {{"b", false}};
  death_classifier deaths{runtime};
  deaths.classify(event(kind::oom, "a"));
  deaths.classify(event(kind::oom, "a")); // two processes killed: still one death
  EXPECT_FALSE(deaths.classify(event(kind::die, "b", 137))->oom);
  EXPECT_TRUE(deaths.classify(event(kind::die, "a", 137))->oom);
  // Forgotten after its death: a later SIGKILL of a container reusing nothing
  // of it is asked about afresh.
  runtime.oom_killed["a"] = false;
  EXPECT_FALSE(deaths.classify(event(kind::die, "a", 137))->oom);
}
