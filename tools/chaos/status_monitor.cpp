// Polling corral's /status and following the faults through it (see status_monitor.hpp).
#include "tools/chaos/status_monitor.hpp"

#include "tools/common/clock.hpp"
#include "tools/common/http_client.hpp"

namespace corral::chaos {

namespace {

/// A /status poll slower than this counts as failed; far above the ~1 ms
/// it takes, yet short enough not to blind the measurement for long.
constexpr std::chrono::milliseconds poll_timeout{2000};

} // namespace

status_monitor::status_monitor(std::string status_url, std::chrono::milliseconds every,
                               const run_clock& clock)
  : url_(std::move(status_url)), every_(every), clock_(clock) {
}

status_monitor::~status_monitor() {
  stop();
}

void status_monitor::start() {
  thread_ = std::thread{[this] { run(); }};
}

void status_monitor::stop() {
  stopping_ = true;
  if (thread_.joinable())
    thread_.join();
  changed_.notify_all();
}

std::optional<pool_view> status_monitor::latest() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return latest_;
}

uint64_t status_monitor::open(fault_kind kind, uint16_t port, std::string container,
                              clock::time_point injected) {
  std::lock_guard<std::mutex> guard{mutex_};
  return tracker_.open(kind, port, std::move(container), injected);
}

void status_monitor::cancel(uint64_t id) {
  std::lock_guard<std::mutex> guard{mutex_};
  tracker_.cancel(id);
}

std::set<uint16_t> status_monitor::busy_ports() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return tracker_.busy_ports();
}

std::vector<fault> status_monitor::faults() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return tracker_.faults();
}

bool status_monitor::wait_settled(bool repaired, clock::time_point deadline,
                                  const std::function<bool()>& give_up) {
  std::unique_lock<std::mutex> lock{mutex_};
  for (;;) {
    if (latest_ && latest_->whole() && (!repaired || tracker_.open_count() == 0))
      return true;
    if (clock::now() >= deadline || stopping_ || (give_up && give_up()))
      return false;
    // Woken by every poll; the timeout only bounds how late give_up is seen.
    changed_.wait_for(lock, std::chrono::milliseconds{100});
  }
}

std::optional<spread> status_monitor::round_trips() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return summarize(round_trips_ms_);
}

void status_monitor::run() {
  http::client client;
  bool failing = false; // a failed poll is reported once per streak, not every 10 ms
  while (!stopping_) {
    auto requested = clock::now();
    auto answer = client.get(url_, poll_timeout);
    auto answered = clock::now();
    auto view = answer.status == 200 ? parse_status(answer.body) : std::nullopt;
    if (!view) {
      ++poll_errors_;
      if (!failing)
        log::warn("chaos", "GET /status failed",
                  {clock_.elapsed(),
                   {"url", url_},
                   {"error", answer.status == 0     ? answer.detail
                             : answer.status != 200 ? "status " + std::to_string(answer.status)
                                                    : std::string{"not corral's /status document"}}});
      failing = true;
    } else {
      if (failing)
        log::info("chaos", "GET /status answers again", {clock_.elapsed(), {"url", url_}});
      failing = false;
      std::vector<fault_progress> progress;
      {
        std::lock_guard<std::mutex> guard{mutex_};
        progress = tracker_.observe(*view, requested, answered);
        round_trips_ms_.push_back(
          std::chrono::duration<double, std::milli>(answered - requested).count());
        latest_ = *view;
      }
      changed_.notify_all();
      report(progress, *view);
    }
    // Fixed-rate polling: a slow answer shortens the next pause, never
    // delays every later poll.
    sleep_until(requested + every_, stopping_);
  }
}

void status_monitor::report(const std::vector<fault_progress>& progress, const pool_view& view) {
  for (auto& p : progress) {
    auto& f = p.snapshot;
    auto* slot = view.find(f.port);
    if (p.detected_now && !p.replaced_now)
      log::info("chaos", "fault detected",
                {clock_.elapsed(),
                 {"fault", f.id},
                 {"kind", to_string(f.kind)},
                 {"port", f.port},
                 {"detected_ms", whole_ms(*f.detection_ms())},
                 {"slot", slot ? std::string_view{slot->state} : std::string_view{"gone"}}});
    if (p.replaced_now)
      log::info("chaos", p.detected_now ? "fault detected and replaced" : "fault replaced",
                {clock_.elapsed(),
                 {"fault", f.id},
                 {"kind", to_string(f.kind)},
                 {"port", f.port},
                 {"replacement", short_id(f.replacement)},
                 {"ready_ms", whole_ms(*f.replacement_ms())}});
  }
}

} // namespace corral::chaos
