// One io thread of the front end: its io_context and everything it owns.
#pragma once

#include "proxy/exchange_buffers.hpp"
#include "proxy/limits.hpp"
#include "proxy/port_source.hpp"
#include "proxy/settings.hpp"
#include "proxy/stats.hpp"
#include "proxy/upstream_pool.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace corral::proxy {

/// What an io thread needs from a live client session: the graceful and the
/// forced end. The hook links it into its thread's session list while alive.
class tracked_session
  : public boost::intrusive::list_base_hook<
      boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
public:
  /// Shutdown began: close now if idle between requests, otherwise answer
  /// the current request with `Connection: close` and close after it.
  virtual void on_server_shutdown() = 0;

  /// The shutdown timeout passed: close both connections now.
  virtual void force_close() = 0;

  /// The thread's tick (every io_thread::tick_interval while sessions
  /// live): time to check the session's deadlines against `now`. A session
  /// keeps a deadline per phase as a plain time point instead of arming a
  /// timer around every read and write, so a timeout fires up to one tick
  /// late, never early.
  virtual void on_tick(std::chrono::steady_clock::time_point now) = 0;

protected:
  ~tracked_session() = default;
};

/// One io thread: a single-threaded io_context with its own port source,
/// backend connection pool, counters and sessions. Every handler of a
/// session runs on this one thread, which is why sessions need no strand
/// (STYLE.md's strand is for io_contexts run by several threads).
class io_thread {
public:
  /// Creates the thread's io_context; start() spawns the thread itself.
  io_thread(const proxy_settings& settings, unsigned index);

  io_thread(const io_thread&) = delete;
  io_thread& operator=(const io_thread&) = delete;

  /// Joins the thread if it still runs.
  ~io_thread();

  /// Installs the port source; before start().
  void set_port_source(std::unique_ptr<port_source> ports);

  /// The bounds shared by all io threads: open connections (every closing
  /// session leaves the gate) and request bodies in memory; before start().
  void set_limits(connection_gate* gate, body_budget* budget) {
    gate_ = gate;
    budget_ = budget;
  }

  /// Request bodies in memory, all io threads together.
  body_budget& budget() {
    return *budget_;
  }

  /// Replaces the settings (any thread): the io thread takes them over
  /// between two handlers, so a session sees one set or the other.
  void reconfigure(const proxy_settings& settings);

  /// Spawns the thread and runs the io_context until shutdown completes.
  void start();

  /// Tells the sessions (any thread) that the server stops: from now on
  /// every response carries `Connection: close`, even before the thread
  /// hears begin_shutdown().
  void announce_shutdown() {
    stopping_.store(true, std::memory_order_relaxed);
  }

  /// Asks the thread to shut down gracefully (any thread): close idle
  /// sessions, let busy ones finish within shutdown_timeout, then close the
  /// rest. The thread ends once no session is left.
  void begin_shutdown();

  /// Waits for the thread to end (not from the thread itself).
  void join();

  /// The thread's counters, for snapshots from any thread.
  const thread_counters& counters() const {
    return counters_;
  }

  // -- for the thread's own sessions (io thread only) ----------------------

  /// The io_context every session of this thread runs on.
  boost::asio::io_context& context() {
    return ioc_;
  }
  /// The proxy's settings.
  const proxy_settings& settings() const {
    return settings_;
  }
  /// Where this thread's sessions get backend ports.
  port_source& ports() {
    return *ports_;
  }
  /// The port source, or null once the thread ended (for destructors).
  port_source* ports_if_alive() {
    return ports_.get();
  }
  /// This thread's idle backend connections.
  upstream_pool& pool() {
    return pool_;
  }
  /// This thread's counters, to count into.
  thread_counters& counters() {
    return counters_;
  }
  /// True once shutdown was announced: responses carry `Connection: close`.
  bool shutting_down() const {
    return stopping_.load(std::memory_order_relaxed);
  }

  /// How often sessions hear on_tick: the granularity of every proxy
  /// timeout, and how long a backend may take before its session starts
  /// watching its client for a hang-up.
  static constexpr std::chrono::milliseconds tick_interval{50};

  /// Lends buffers for one backend exchange: spare ones of this thread when
  /// there are, so that after warm-up a request allocates none and an idle
  /// keep-alive client holds none.
  std::unique_ptr<exchange_buffers> borrow_buffers();

  /// Takes lent buffers back for later exchanges (null is fine).
  void give_back(std::unique_ptr<exchange_buffers> buffers);

  /// Tracks a new session.
  void add(tracked_session& session);

  /// Forgets a session (from its destructor).
  void remove(tracked_session& session);

private:
  using session_list = boost::intrusive::list<
    tracked_session, boost::intrusive::constant_time_size<false>>;

  void run();
  void on_begin_shutdown();
  void arm_shutdown_timer();
  void on_shutdown_timeout();
  void finish_shutdown();
  void schedule_sweep();
  /// Arms the tick unless it is armed already.
  void arm_tick();
  void on_tick();

  // Declared before ioc_ so they outlive it: a handler the io_context
  // destroys may still hold a session, whose destructor reaches these.
  /// This thread's copy: only the io thread reads it, reconfigure() swaps it
  /// in on that thread.
  proxy_settings settings_;
  const unsigned index_;
  thread_counters counters_;
  session_list sessions_;
  /// on_begin_shutdown() ran: the thread ends with its last session.
  bool shutdown_begun_ = false;
  /// Set by announce_shutdown() (any thread), read by the sessions.
  std::atomic<bool> stopping_{false};
  bool finished_ = false;
  connection_gate* gate_ = nullptr;
  body_budget* budget_ = nullptr;
  std::unique_ptr<port_source> ports_;
  /// Spare exchange buffers (borrow_buffers).
  exchange_buffer_pool spare_buffers_;
  // Hint 1: a single thread runs it, so Asio may skip some locking.
  boost::asio::io_context ioc_{1};
  std::optional<boost::asio::executor_work_guard<
    boost::asio::io_context::executor_type>>
    work_;
  // I/O objects: declared after ioc_, so destroyed before it.
  upstream_pool pool_;
  boost::asio::steady_timer sweep_timer_;
  boost::asio::steady_timer shutdown_timer_;
  boost::asio::steady_timer tick_timer_;
  bool tick_armed_ = false;
  std::thread thread_;
};

} // namespace corral::proxy
