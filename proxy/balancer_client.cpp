// The BALANCER's client on one io thread: batched one-way asks whose answers
// are posted back onto the io thread. The only proxy file that includes CAF.
#include "proxy/balancer_client.hpp"

#include "actors/actors.hpp"
#include "log/log.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include <chrono>
#include <utility>
#include <vector>

namespace corral {

namespace net = boost::asio;

namespace {

/// The io-thread side of one balancer client. Everything here runs on the io
/// thread; reply sinks only hold a reference to post answers to it.
class client_state : public std::enable_shared_from_this<client_state> {
public:
  using clock_type = std::chrono::steady_clock;

  client_state(net::io_context& ioc, balancer_actor balancer, thread_counters& counters,
               std::chrono::milliseconds report_delay)
    : executor_(ioc.get_executor()),
      balancer_(std::move(balancer)),
      counters_(counters),
      report_delay_(report_delay),
      report_timer_(ioc) {
  }

  net::io_context::executor_type executor() const {
    return executor_;
  }

  void async_next_port(std::shared_ptr<port_waiter> waiter, bool retry) {
    waiting_.push_back({std::move(waiter), retry, clock_type::now()});
    schedule_flush();
  }

  /// A request completed: nothing urgent (the rotation does not depend on
  /// it), so the report waits for the next ask to ride along, or for the
  /// report timer when no ask comes. Under load that saves the balancer one
  /// message per request, and the io thread one send.
  void finished(uint16_t port) {
    finished_.push_back(port);
    arm_report_timer();
  }

  void failed(uint16_t port) {
    failed_.push_back(port);
    schedule_flush();
  }

  void bad(uint16_t port) {
    bad_.push_back(port);
    schedule_flush();
  }

  /// Hands the balancer's answer to the sessions of the ask in flight, in
  /// order; sends whatever queued up meanwhile.
  void on_answer(std::vector<uint16_t> ports) {
    if (closed_)
      return;
    ask_outstanding_ = false;
    // Swap first: on_port may queue new waiters (or reports) right away.
    answering_.swap(in_flight_);
    if (!ports.empty() && ports.size() != answering_.size())
      log::warn("proxy", "the balancer answered a different number of ports than asked for",
                {{"ports", ports.size()}, {"requests", answering_.size()}});
    // One clock read for the whole batch: every session of it got its port
    // now, each after waiting since it asked.
    auto now = clock_type::now();
    for (auto& w : answering_)
      counters_.round_trip.observe(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - w.asked_at).count()));
    size_t i = 0;
    for (; i < answering_.size(); ++i) {
      // Moved out exactly once; the waiter may be gone after on_port.
      auto waiter = std::move(answering_[i].waiter);
      if (i < ports.size())
        waiter->on_port(ports[i]);
      else
        waiter->on_port(std::nullopt);
    }
    answering_.clear();
    // Ports nobody asked for still count as handed out: settle them.
    for (; i < ports.size(); ++i)
      finished_.push_back(ports[i]);
    if (!waiting_.empty())
      send_ask();
    else if (!failed_.empty() || !bad_.empty())
      send_reports();
    else if (!finished_.empty())
      arm_report_timer();
  }

  /// Drops the waiting sessions (on the io thread, at shutdown) and sends
  /// the last reports; answers arriving later are ignored.
  void close() {
    if (std::exchange(closed_, true))
      return;
    report_timer_.cancel();
    waiting_.clear();
    in_flight_.clear();
    if (has_reports())
      send_reports();
  }

private:
  struct waiting {
    std::shared_ptr<port_waiter> waiter;
    bool retry = false;
    clock_type::time_point asked_at;
  };

  /// Coalesces everything that happens in one round of the io loop into one
  /// message: a single post, however many sessions ask or report.
  void schedule_flush() {
    if (flush_posted_ || closed_)
      return;
    flush_posted_ = true;
    net::post(executor_, [self = shared_from_this()] { self->flush(); });
  }

  void flush() {
    flush_posted_ = false;
    // While an ask is in flight, its answer sends what queued up.
    if (closed_ || ask_outstanding_)
      return;
    if (!waiting_.empty())
      send_ask();
    else if (has_reports())
      send_reports();
  }

  /// At most one timer is armed per report_delay: not per request.
  void arm_report_timer() {
    if (timer_armed_ || closed_)
      return;
    timer_armed_ = true;
    report_timer_.expires_after(report_delay_);
    report_timer_.async_wait([self = shared_from_this()](boost::system::error_code) {
      self->timer_armed_ = false;
      // Reports that rode along with an ask meanwhile are gone already.
      if (!self->closed_ && self->has_reports())
        self->schedule_flush();
    });
  }

  void send_ask();
  void send_reports();

  /// Copies the reports into `ask`; the buffers keep their capacity.
  void take_reports(port_ask& ask) {
    ask.finished.assign(finished_.begin(), finished_.end());
    ask.failed.assign(failed_.begin(), failed_.end());
    ask.bad.assign(bad_.begin(), bad_.end());
    finished_.clear();
    failed_.clear();
    bad_.clear();
  }

  bool has_reports() const {
    return !finished_.empty() || !failed_.empty() || !bad_.empty();
  }

  net::io_context::executor_type executor_;
  balancer_actor balancer_;
  thread_counters& counters_;
  /// Sessions that want a port and are not yet asked for.
  std::vector<waiting> waiting_;
  /// Sessions of the ask in flight, in the order of its ports.
  std::vector<waiting> in_flight_;
  /// Scratch for on_answer; kept to reuse its capacity.
  std::vector<waiting> answering_;
  std::vector<uint16_t> finished_;
  std::vector<uint16_t> failed_;
  std::vector<uint16_t> bad_;
  std::chrono::milliseconds report_delay_;
  net::steady_timer report_timer_;
  bool timer_armed_ = false;
  bool ask_outstanding_ = false;
  bool flush_posted_ = false;
  bool closed_ = false;
};

/// Carries one answer from the balancer's thread back to the io thread.
/// Holds no io-thread state, so it may die on any thread. Destroyed without
/// an answer (the balancer died, or the message was dropped), it answers
/// with no ports: the waiting sessions get 503 instead of hanging.
class reply_sink final : public port_sink {
public:
  explicit reply_sink(std::shared_ptr<client_state> state)
    : state_(std::move(state)) {
  }

  reply_sink(const reply_sink&) = delete;
  reply_sink& operator=(const reply_sink&) = delete;

  ~reply_sink() override {
    if (!answered_)
      post_answer({});
  }

  void deliver(std::vector<uint16_t> ports) override {
    if (std::exchange(answered_, true))
      return;
    post_answer(std::move(ports));
  }

private:
  void post_answer(std::vector<uint16_t> ports) {
    // Always posted, never run inline: the sink may die inside the send
    // that carried it (a dead balancer), deep in the io thread's own call.
    net::post(state_->executor(),
              [state = state_, ports = std::move(ports)]() mutable {
                state->on_answer(std::move(ports));
              });
  }

  std::shared_ptr<client_state> state_;
  bool answered_ = false;
};

void client_state::send_ask() {
  port_ask ask;
  for (auto& w : waiting_)
    ++(w.retry ? ask.retries : ask.fresh);
  take_reports(ask);
  ask.reply = std::make_shared<reply_sink>(shared_from_this());
  // The first waiter waited longest: the balancer's queue counts that wait
  // against queue_timeout when no backend is ready.
  ask.waited = clock_type::now() - waiting_.front().asked_at;
  counters_.asks_per_batch.observe(waiting_.size());
  in_flight_.swap(waiting_); // in_flight_ was empty: waiting_ is now empty
  ask_outstanding_ = true;
  // One-way, no timeout: the sink answers even if the balancer dies.
  caf::anon_send(balancer_, atom::next{}, std::move(ask));
}

void client_state::send_reports() {
  port_ask report;
  take_reports(report);
  caf::anon_send(balancer_, atom::next{}, std::move(report));
}

/// The port_source handed to the proxy: forwards to the shared state and
/// closes it on destruction (on the io thread).
class balancer_client final : public port_source {
public:
  balancer_client(net::io_context& ioc, balancer_actor balancer, thread_counters& counters,
                  std::chrono::milliseconds report_delay)
    : state_(std::make_shared<client_state>(ioc, std::move(balancer), counters, report_delay)) {
  }

  ~balancer_client() override {
    state_->close();
  }

  void async_next_port(std::shared_ptr<port_waiter> waiter,
                       bool retry) override {
    state_->async_next_port(std::move(waiter), retry);
  }

  void finished(uint16_t port) override {
    state_->finished(port);
  }

  void failed(uint16_t port) override {
    state_->failed(port);
  }

  void bad(uint16_t port) override {
    state_->bad(port);
  }

private:
  std::shared_ptr<client_state> state_;
};

} // namespace

std::unique_ptr<port_source> make_balancer_client(net::io_context& ioc,
                                                  const caf::actor& balancer,
                                                  thread_counters& counters,
                                                  std::chrono::milliseconds report_delay) {
  return std::make_unique<balancer_client>(
    ioc, caf::actor_cast<balancer_actor>(balancer), counters, report_delay);
}

} // namespace corral
