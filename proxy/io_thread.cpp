// One io thread of the front end: run loop, idle sweep and graceful stop.
#include "proxy/io_thread.hpp"

#include "log/log.hpp"
#include "proxy/exchange_buffers.hpp"

#include <boost/asio/post.hpp>

#include <chrono>
#include <exception>

namespace corral::proxy {

namespace net = boost::asio;

namespace {

/// How often idle backend connections are checked for a backend's close.
constexpr auto sweep_interval = std::chrono::seconds(5);

} // namespace

io_thread::io_thread(const proxy_settings& settings, unsigned index)
  : settings_(settings),
    index_(index),
    work_(net::make_work_guard(ioc_)),
    pool_(settings.max_idle_per_backend),
    sweep_timer_(ioc_),
    shutdown_timer_(ioc_),
    tick_timer_(ioc_) {
}

io_thread::~io_thread() {
  if (thread_.joinable()) {
    begin_shutdown();
    join();
  }
}

void io_thread::set_port_source(std::unique_ptr<port_source> ports) {
  ports_ = std::move(ports);
}

void io_thread::reconfigure(const proxy_settings& settings) {
  net::post(ioc_, [this, settings] { settings_ = settings; });
}

void io_thread::start() {
  thread_ = std::thread([this] { run(); });
}

void io_thread::join() {
  if (thread_.joinable())
    thread_.join();
}

void io_thread::begin_shutdown() {
  net::post(ioc_, [this] { on_begin_shutdown(); });
}

void io_thread::add(tracked_session& session) {
  // A connection the listener still took from the kernel's queue after this
  // thread had seen its last session go: shutdown is on again until it ends.
  if (std::exchange(finished_, false))
    arm_shutdown_timer();
  sessions_.push_back(session);
  counters_.connections_accepted.add();
  arm_tick();
}

void io_thread::remove(tracked_session& session) {
  session.unlink();
  counters_.connections_closed.add();
  if (gate_ != nullptr)
    gate_->leave();
  if (shutdown_begun_ && sessions_.empty())
    finish_shutdown();
}

std::unique_ptr<exchange_buffers> io_thread::borrow_buffers() {
  return spare_buffers_.borrow();
}

void io_thread::give_back(std::unique_ptr<exchange_buffers> buffers) {
  spare_buffers_.give_back(std::move(buffers));
}

void io_thread::arm_tick() {
  if (finished_ || std::exchange(tick_armed_, true))
    return;
  tick_timer_.expires_after(tick_interval);
  tick_timer_.async_wait([this](boost::system::error_code ec) {
    tick_armed_ = false;
    if (!ec)
      on_tick();
  });
}

void io_thread::on_tick() {
  // One clock read and one pass over the sessions per tick, instead of a
  // timer armed and cancelled around every read and write. Advance before
  // the call: a session may leave the list.
  auto now = std::chrono::steady_clock::now();
  for (auto i = sessions_.begin(); i != sessions_.end();) {
    auto& session = *i++;
    session.on_tick(now);
  }
  // Nobody left: no tick until the next session (the thread may be idle
  // for hours, and at shutdown its io_context must run out of work).
  if (!sessions_.empty())
    arm_tick();
}

void io_thread::run() {
  schedule_sweep();
  for (;;) {
    try {
      ioc_.run();
      break;
    } catch (const std::exception& e) {
      // A handler threw: log it and keep serving the other connections.
      log::error("proxy", "an io handler threw", {{"thread", index_}, {"error", e.what()}});
    }
  }
  // Out of work: no session is left. Whatever the thread owns dies here, on
  // its own thread: waiting sessions the source still holds, pooled sockets.
  ports_.reset();
  pool_.clear();
}

void io_thread::schedule_sweep() {
  sweep_timer_.expires_after(sweep_interval);
  sweep_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || shutdown_begun_)
      return;
    pool_.sweep();
    schedule_sweep();
  });
}

void io_thread::on_begin_shutdown() {
  if (std::exchange(shutdown_begun_, true))
    return;
  announce_shutdown();
  sweep_timer_.cancel();
  // The ioc may now run out of work: it ends when the last session is gone.
  work_.reset();
  // Advance before the call: a session may leave the list right away.
  for (auto i = sessions_.begin(); i != sessions_.end();) {
    auto& session = *i++;
    session.on_server_shutdown();
  }
  if (sessions_.empty()) {
    finish_shutdown();
    return;
  }
  arm_shutdown_timer();
}

void io_thread::arm_shutdown_timer() {
  shutdown_timer_.expires_after(settings_.shutdown_timeout);
  shutdown_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec)
      on_shutdown_timeout();
  });
}

void io_thread::on_shutdown_timeout() {
  log::warn("proxy", "closing requests still busy after the shutdown timeout",
            {{"thread", index_}});
  for (auto i = sessions_.begin(); i != sessions_.end();) {
    auto& session = *i++;
    session.force_close();
  }
}

void io_thread::finish_shutdown() {
  if (std::exchange(finished_, true))
    return;
  shutdown_timer_.cancel();
  tick_timer_.cancel();
  pool_.clear();
}

} // namespace corral::proxy
