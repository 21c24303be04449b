// 100 images uploaded through corral by acts-load while a container is
// killed every 2 s (two loader runs back to back): every upload
// acknowledged with 201 is there afterwards with identical bytes, the counts
// per category agree, no act exists twice, and the uploads that failed are
// reported by the loader. And, made certain rather than left to chance: an
// upload cut off by a kill is answered 502 by corral, and the loader retries
// it or, out of attempts, reports it.
#include "tests/support/docker_env.hpp"
#include "tests/workload/acts_pool.hpp"
#include "tests/workload/database.hpp"
#include "tests/workload/program.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <condition_variable>
#include <iostream>
#include <map>
#include <random>
#include <regex>
#include <sstream>

#ifndef ACTS_LOAD_BINARY
#  error "ACTS_LOAD_BINARY must name the acts-load executable"
#endif

using namespace corral::test;

namespace {

constexpr int images = 100;
constexpr int categories = 5;
constexpr auto kill_every = 2s;
/// Loader runs back to back under the same chaos. One run of 100 images
/// takes 6 to 12 s; two give a dozen kills, several of them likely to meet
/// an upload in flight (the test below makes sure of one).
constexpr int rounds = 2;

/// What acts-load's summary table says (tools/acts_load/load_run.cpp, print_summary).
struct loader_summary {
  /// "uploaded", "acknowledged", "failed", "verified", "missing", "corrupted", "duplicates".
  std::map<std::string, int> rows;
  /// The "retries" note on the uploaded row.
  int retries = 0;
  /// The "stored nonetheless" note on the failed row.
  int stored_unacknowledged = 0;
  /// The "N x reason" lines under the failed row.
  std::vector<std::string> failure_reasons;
  int failures_itemised = 0;
  struct category {
    int acknowledged = 0;
    int listed_ours = 0;
    int64_t listed = 0;
    int64_t size = 0;
    int64_t in_overview = 0;
    bool mismatch = false;
  };
  std::map<std::string, category> categories;
  std::string result;
};

/// Reads the summary table acts-load prints at the end.
loader_summary parse_summary(const std::string& output) {
  static const std::regex row{R"(^  (\w+) +(\d+)(?:  (.*))?$)"};
  static const std::regex reason{R"(^      (\d+) x (.*)$)"};
  static const std::regex category{
    R"(^    (acts-load-\d+) +(\d+) +(\d+) +(-?\d+) +(-?\d+) +(-?\d+)(  MISMATCH)?$)"};
  static const std::regex stored{R"((\d+) stored nonetheless)"};
  static const std::regex retries{R"((\d+) retries)"};
  loader_summary summary;
  std::istringstream lines{output};
  std::smatch m;
  for (std::string line; std::getline(lines, line);) {
    if (std::regex_match(line, m, category)) {
      summary.categories[m[1]] = {std::stoi(m[2]), std::stoi(m[3]), std::stoll(m[4]),
                                  std::stoll(m[5]), std::stoll(m[6]), m[7].matched};
    } else if (std::regex_match(line, m, reason)) {
      summary.failure_reasons.push_back(line);
      summary.failures_itemised += std::stoi(m[1]);
    } else if (std::regex_match(line, m, row)) {
      summary.rows[m[1]] = std::stoi(m[2]);
      std::smatch note;
      auto text = m[3].str();
      if (m[1] == "failed" && std::regex_search(text, note, stored))
        summary.stored_unacknowledged = std::stoi(note[1]);
      if (m[1] == "uploaded" && std::regex_search(text, note, retries))
        summary.retries = std::stoi(note[1]);
    } else if (line.rfind("result: ", 0) == 0) {
      summary.result = line.substr(8);
    }
  }
  return summary;
}

/// Checks one loader run's summary. `stored` holds, per category, the acts
/// stored by earlier runs; this run's are added. The pool's database is the
/// test's own, so a category lists exactly what the runs stored there.
void check_run(const loader_summary& summary, std::map<std::string, int64_t>& stored) {
  auto row = [&](const char* name) {
    auto it = summary.rows.find(name);
    return it == summary.rows.end() ? -1 : it->second;
  };
  EXPECT_EQ(summary.result, "OK");
  EXPECT_EQ(row("uploaded"), images);
  EXPECT_EQ(row("acknowledged") + row("failed"), images);
  EXPECT_GT(row("acknowledged"), 0);
  EXPECT_EQ(row("verified"), row("acknowledged"));
  EXPECT_EQ(row("missing"), 0);
  EXPECT_EQ(row("corrupted"), 0);
  EXPECT_EQ(row("duplicates"), 0);
  // Failures are itemised with their reason, never just counted.
  EXPECT_EQ(summary.failures_itemised, row("failed"));

  // Per category: what was acknowledged there, plus what was stored after
  // all for uploads that failed, is what the service lists, and listing,
  // size and overview agree.
  ASSERT_EQ(summary.categories.size(), size_t{categories});
  int ours = 0;
  int acknowledged = 0;
  for (auto& [name, c] : summary.categories) {
    EXPECT_FALSE(c.mismatch) << name;
    EXPECT_GE(c.listed_ours, c.acknowledged) << name;
    stored[name] += c.listed_ours;
    EXPECT_EQ(c.listed, stored[name]) << name;
    EXPECT_EQ(c.size, c.listed) << name;
    EXPECT_EQ(c.in_overview, c.listed) << name;
    ours += c.listed_ours;
    acknowledged += c.acknowledged;
  }
  EXPECT_EQ(acknowledged, row("acknowledged"));
  EXPECT_EQ(ours, row("acknowledged") + summary.stored_unacknowledged);
}

#ifdef CHAOS_BINARY
/// "| kills (SIGKILL) | 12 |" from the chaos tool's table; -1 when absent.
int chaos_kills(const std::string& output) {
  static const std::regex kills{R"(\| kills \(SIGKILL\) \| (\d+) \|)"};
  std::smatch m;
  return std::regex_search(output, m, kills) ? std::stoi(m[1]) : -1;
}
#endif

/// Kills a random ready container of the pool every `every` until stopped:
/// the stand-in for tools/chaos where that is not built.
class container_killer {
public:
  container_killer(corral_process& corral, std::chrono::milliseconds every)
    : thread_([this, &corral, every] {
        std::mt19937 rng{std::random_device{}()};
        std::unique_lock lock{mutex_};
        while (!stopping_) {
          lock.unlock();
          auto ready = corral.ready_ports();
          if (!ready.empty()) {
            auto port = ready[std::uniform_int_distribution<size_t>{0, ready.size() - 1}(rng)];
            if (docker_kill(corral.pool() + "-" + std::to_string(port)))
              ++kills_;
          }
          lock.lock();
          // The kill rhythm, not synchronisation: stop() cuts the wait short.
          wake_.wait_for(lock, every, [this] { return stopping_; });
        }
      }) {
  }
  ~container_killer() {
    stop();
  }

  /// Stops killing; returns how many containers were killed.
  int stop() {
    {
      std::lock_guard guard{mutex_};
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
      thread_.join();
    return kills_;
  }

private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  int kills_ = 0;
  std::thread thread_;
};

} // namespace

TEST(acts_chaos, acknowledged_uploads_survive_a_kill_every_two_seconds) {
  CORRAL_NEED_DOCKER();
  acts_pool pool{"wl-chaos", 22080};
  auto problem = pool.start();
  ASSERT_TRUE(problem.empty()) << problem;

#ifdef CHAOS_BINARY
  // tools/chaos kills from its first second on, under a light GET load of
  // its own; it runs until the loader is done and is then told to stop
  // (SIGTERM: it stops injecting, waits for the pool to be whole, reports).
  const auto& ports = pool.ports();
  program chaos{{CHAOS_BINARY, "--proxy", "127.0.0.1:" + std::to_string(ports.proxy), "--admin",
                 "127.0.0.1:" + std::to_string(ports.admin), "--pool", pool.name(),
                 "--docker-socket", docker_socket(), "--duration", "90s", "--kill-every",
                 std::to_string(kill_every.count()) + "s", "--load-threads", "1",
                 "--load-rate", "20", "--settle", "15s"}};
  ASSERT_TRUE(chaos.started());
  // The loader starts when the faults do (chaos warms its load up first).
  ASSERT_TRUE(wait_until(10s, [&] {
    return chaos.output().find(" chaos            load started") != std::string::npos;
  })) << chaos.output();
#else
  container_killer chaos{pool.corral(), kill_every};
#endif

  auto started = std::chrono::steady_clock::now();
  std::vector<int> statuses;
  std::vector<std::string> outputs;
  for (int round = 0; round < rounds; ++round) {
    auto run = run_program({ACTS_LOAD_BINARY, "--url", pool.proxy_base(), "--images",
                            std::to_string(images), "--categories", std::to_string(categories)},
                           40s);
    statuses.push_back(run.exit_status);
    outputs.push_back(run.output);
    if (run.exit_status != 0)
      break;
  }
  auto loading = std::chrono::steady_clock::now() - started;

#ifdef CHAOS_BINARY
  auto chaos_status = chaos.terminate(30s);
  auto kills = chaos_kills(chaos.output());
  std::cout << "---- chaos (exit " << chaos_status << ") ----\n" << chaos.output();
  if (chaos_status < 0)
    ADD_FAILURE() << "chaos did not stop within 30 s of SIGTERM";
#else
  auto kills = chaos.stop();
  std::cout << "---- tools/chaos is not built: a test thread killed " << kills
            << " containers ----\n";
#endif
  if (auto status = pool.corral().status(); status.is_object())
    std::cout << "---- corral's proxy counters: " << status.at("proxy") << " ----\n";
  for (size_t i = 0; i < outputs.size(); ++i)
    std::cout << "---- acts-load run " << i + 1 << " (exit " << statuses[i] << ") ----\n"
              << outputs[i];
  std::cout << std::flush;

  // Every run verified everything it was told was stored.
  ASSERT_EQ(statuses.size(), size_t{rounds}) << "a loader run failed: see its output above";
  std::map<std::string, int64_t> stored;
  for (size_t i = 0; i < outputs.size(); ++i) {
    SCOPED_TRACE("acts-load run " + std::to_string(i + 1));
    EXPECT_EQ(statuses[i], 0);
    check_run(parse_summary(outputs[i]), stored);
  }
  // And the service, asked once more at the end, agrees.
  auto overview = parse_json(pool.proxy("GET", "/api/v1/categories").body);
  ASSERT_TRUE(overview.is_object()) << overview;
  int64_t total = 0;
  for (auto& [name, count] : stored) {
    ASSERT_TRUE(overview.as_object().contains(name)) << name;
    EXPECT_EQ(overview.at(name).to_number<int64_t>(), count) << name;
    total += count;
  }
  EXPECT_EQ(json_count(pool.proxy("GET", "/api/v1/acts/count").body), total);

  // The faults really happened throughout, and corral repaired them all.
  // (A kill is skipped while no container is ready.)
  int64_t expected_kills = std::max<int64_t>(2, loading / kill_every - 2);
  EXPECT_GE(kills, expected_kills)
    << "loading took " << std::chrono::duration<double>(loading).count() << " s";
  EXPECT_TRUE(pool.all_healthy(15s)) << pool.corral().log();
  EXPECT_LT(loading, 60s);
  EXPECT_EQ(pool.stop(), 0) << pool.corral().log();
}

// -- an upload cut off for certain --------------------------------------------------

namespace {

/// The backend port with a request in flight, from corral's /status; 0 when
/// none or more than one has.
uint16_t busy_port(corral_process& corral) {
  auto status = corral.status();
  if (!status.is_object())
    return 0;
  uint16_t busy = 0;
  for (auto& b : status.at("balancer").at("backends").as_array())
    if (b.at("in_flight").to_number<int64_t>() > 0) {
      if (busy != 0)
        return 0;
      busy = static_cast<uint16_t>(b.at("port").to_number<int64_t>());
    }
  return busy;
}

/// What cut_one_upload_off saw.
struct cut_off_run {
  program_result loader;
  int64_t bad_gateway_before = -1;
  int64_t bad_gateway_after = -1;
  std::string problem; ///< why the cut could not be made, else ""
};

/// The 502s corral's proxy has answered so far; -1 when /status is silent.
int64_t bad_gateways(corral_process& corral) {
  auto status = corral.status();
  return status.is_object() ? status.at("proxy").at("bad_gateway").to_number<int64_t>() : -1;
}

/// Runs acts-load with `attempts` per upload and cuts one upload off: once
/// the first act is stored, a writer on the host takes the database's write
/// lock, so the loader's next POST waits inside a container; that container
/// is killed, then the lock released.
cut_off_run cut_one_upload_off(acts_pool& pool, int attempts) {
  cut_off_run run;
  auto stored_before = json_count(pool.proxy("GET", "/api/v1/acts/count").body);
  run.bad_gateway_before = bad_gateways(pool.corral());
  outside_writer holder{volume_mountpoint(pool.name() + "-data") + "/acts.db"};
  program loader{{ACTS_LOAD_BINARY, "--url", pool.proxy_base(), "--images", "30", "--categories",
                  "2", "--min-kb", "64", "--max-kb", "256", "--attempts",
                  std::to_string(attempts)}};
  if (!wait_until(20s, [&] {
        return json_count(pool.proxy("GET", "/api/v1/acts/count").body) > stored_before;
      }))
    run.problem = "acts-load stored nothing within 20 s";
  else if (!holder.exec("BEGIN IMMEDIATE"))
    run.problem = "cannot take the database's write lock";
  if (!run.problem.empty()) {
    run.loader = {loader.wait(60s), loader.output()};
    return run;
  }
  // The stuck upload is the only request in flight, and stays so for the
  // service's 5 s busy timeout: a port busy for 300 ms on end is it.
  uint16_t candidate = 0;
  auto since = std::chrono::steady_clock::now();
  uint16_t stuck = 0;
  wait_until(4s, [&] {
    auto port = busy_port(pool.corral());
    auto now = std::chrono::steady_clock::now();
    if (port != candidate) {
      candidate = port;
      since = now;
    } else if (port != 0 && now - since >= 300ms) {
      stuck = port;
    }
    return stuck != 0;
  });
  if (stuck == 0)
    run.problem = "no upload got stuck behind the write lock";
  else if (!docker_kill(pool.name() + "-" + std::to_string(stuck)))
    run.problem = "cannot kill the container on port " + std::to_string(stuck);
  holder.exec("ROLLBACK"); // nothing was written under it
  run.loader = {loader.wait(60s), loader.output()};
  run.bad_gateway_after = bad_gateways(pool.corral());
  return run;
}

} // namespace

TEST(acts_chaos, upload_cut_off_by_a_kill_gets_502_and_is_retried_or_reported) {
  CORRAL_NEED_DOCKER();
  acts_pool pool{"wl-cutoff", 22120};
  auto problem = pool.start();
  ASSERT_TRUE(problem.empty()) << problem;

  // One attempt only: the cut-off upload is a failure, and it is reported
  // with corral's answer as the reason. Nothing acknowledged is lost.
  auto once = cut_one_upload_off(pool, 1);
  std::cout << "---- acts-load --attempts 1 (exit " << once.loader.exit_status << ") ----\n"
            << once.loader.output << std::flush;
  ASSERT_TRUE(once.problem.empty()) << once.problem;
  EXPECT_EQ(once.bad_gateway_after, once.bad_gateway_before + 1);
  EXPECT_EQ(once.loader.exit_status, 0);
  auto reported = parse_summary(once.loader.output);
  EXPECT_EQ(reported.result, "OK");
  EXPECT_EQ(reported.rows["failed"], 1);
  EXPECT_EQ(reported.rows["acknowledged"], 29);
  EXPECT_EQ(reported.rows["verified"], 29);
  EXPECT_EQ(reported.stored_unacknowledged, 0);
  ASSERT_EQ(reported.failure_reasons.size(), 1u);
  // The reason is corral's answer, on the failure's own line.
  EXPECT_EQ(reported.failure_reasons[0], "      1 x HTTP 502: backend failed (after 1 attempts)");

  // Four attempts (the default): the same cut costs one retry and nothing else.
  ASSERT_TRUE(pool.all_healthy(15s)) << pool.corral().log();
  auto retried = cut_one_upload_off(pool, 4);
  std::cout << "---- acts-load --attempts 4 (exit " << retried.loader.exit_status << ") ----\n"
            << retried.loader.output << std::flush;
  ASSERT_TRUE(retried.problem.empty()) << retried.problem;
  EXPECT_EQ(retried.bad_gateway_after, retried.bad_gateway_before + 1);
  EXPECT_EQ(retried.loader.exit_status, 0);
  auto recovered = parse_summary(retried.loader.output);
  EXPECT_EQ(recovered.result, "OK");
  EXPECT_EQ(recovered.rows["failed"], 0);
  EXPECT_EQ(recovered.rows["acknowledged"], 30);
  EXPECT_EQ(recovered.rows["verified"], 30);
  EXPECT_GE(recovered.retries, 1);
  EXPECT_EQ(pool.stop(), 0) << pool.corral().log();
}
