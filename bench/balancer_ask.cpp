// The balancer ask's cost, alone: the real balancer actor on CAF's
// work-sharing scheduler with two workers (as corral runs it), asked the
// way an io thread asks (a port_ask whose sink wakes the asking thread),
// one ask at a time, for batches of 1, 8 and 64 ports. Prints the round
// trip (send -> ports delivered) median and p99, and the cost per port.
//
// usage: balancer_ask [ASKS_PER_BATCH_SIZE]   (default 20000)
#include "actors/balancer.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <vector>

using namespace corral;
using clock_type = std::chrono::steady_clock;

namespace {

/// Wakes the asking thread, as an io thread's sink posts to its io_context.
class waiting_sink : public port_sink {
public:
  void deliver(std::vector<uint16_t> ports) override {
    std::lock_guard<std::mutex> guard{mutex_};
    ports_ = std::move(ports);
    done_ = true;
    cv_.notify_one();
  }

  std::vector<uint16_t> wait() {
    std::unique_lock<std::mutex> guard{mutex_};
    cv_.wait(guard, [this] { return done_; });
    done_ = false;
    return std::move(ports_);
  }

private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::vector<uint16_t> ports_;
};

/// Hears what the balancer tells its owner, and only counts it: `heard` is a
/// spawn argument because CAF 0.17.6 binds a reference to a null tuple when
/// an actor is spawned with none.
balancer_listener_actor::behavior_type quiet_listener(std::shared_ptr<std::atomic<int>> heard) {
  return {[=](atom::suspect, uint16_t) { ++*heard; }, [=](atom::traffic) { ++*heard; }};
}

} // namespace

int main(int argc, char** argv) {
  int asks = argc > 1 ? std::atoi(argv[1]) : 20000;
  caf::actor_system_config cfg;
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", 2);
  caf::actor_system sys{cfg};
  auto listener = sys.spawn(quiet_listener, std::make_shared<std::atomic<int>>(0));
  auto bal = sys.spawn(balancer, listener, balancer_settings{}, nullptr);
  for (uint16_t port : {8000, 8001, 8002})
    caf::anon_send(bal, atom::up_v, port);
  auto sink = std::make_shared<waiting_sink>();
  std::printf("| ports per ask | asks | round trip median µs | p99 µs | µs per port |\n");
  std::printf("|---:|---:|---:|---:|---:|\n");
  for (uint32_t batch : {1u, 8u, 64u}) {
    std::vector<uint16_t> held;
    std::vector<double> trips;
    trips.reserve(static_cast<size_t>(asks));
    for (int i = 0; i < asks + 1000; ++i) {
      port_ask ask;
      ask.fresh = batch;
      ask.finished = std::move(held);
      ask.reply = sink;
      auto start = clock_type::now();
      caf::anon_send(bal, atom::next_v, std::move(ask));
      held = sink->wait();
      auto took = std::chrono::duration<double, std::micro>(clock_type::now() - start).count();
      if (held.size() != batch) {
        std::fprintf(stderr, "balancer_ask: asked %u ports, got %zu\n", batch, held.size());
        return 1;
      }
      if (i >= 1000) // the first thousand warm up
        trips.push_back(took);
    }
    std::sort(trips.begin(), trips.end());
    auto median = trips[trips.size() / 2];
    auto p99 = trips[trips.size() * 99 / 100];
    std::printf("| %u | %d | %.1f | %.1f | %.2f |\n", batch, asks, median, p99, median / batch);
  }
  caf::anon_send_exit(bal, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(listener, caf::exit_reason::user_shutdown);
  return 0;
}
