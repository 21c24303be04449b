// The reverse proxy front end: io threads, listener, graceful shutdown.
#include "proxy/proxy_server.hpp"

#include "log/log.hpp"
#include "proxy/io_thread.hpp"
#include "proxy/listener.hpp"

#include <algorithm>
#include <future>
#include <thread>
#include <utility>
#include <vector>

namespace corral {

struct proxy_server::impl {
  proxy_settings settings;
  port_source_factory make_ports;
  /// Declared before the threads: their sessions leave them as they close.
  std::unique_ptr<proxy::connection_gate> gate;
  std::unique_ptr<proxy::body_budget> budget;
  // The threads are declared before the listeners: their acceptors live on
  // the threads' io_contexts and must be destroyed before them.
  std::vector<std::unique_ptr<proxy::io_thread>> threads;
  /// One per listening socket: each accepts for its own io thread (or, on
  /// a predecessor's single socket, for all of them).
  std::vector<std::shared_ptr<proxy::listener>> listeners;
  uint16_t port = 0;
  bool running = false;
};

proxy_server::proxy_server(proxy_settings settings,
                           port_source_factory make_ports)
  : impl_(std::make_unique<impl>()) {
  impl_->settings = std::move(settings);
  impl_->make_ports = std::move(make_ports);
}

proxy_server::~proxy_server() {
  shutdown();
}

unsigned proxy_server::thread_count(const proxy_settings& settings) {
  if (settings.threads > 0)
    return settings.threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

void proxy_server::start(const std::vector<int>& inherited_fds) {
  auto& st = *impl_;
  // Once only: a stopped server's io_contexts live on until destruction.
  if (!st.threads.empty())
    return;
  auto count = thread_count(st.settings);
  auto max_connections = st.settings.max_connections > 0 ? st.settings.max_connections
                                                         : uint64_t{10000};
  st.gate = std::make_unique<proxy::connection_gate>(max_connections);
  st.budget = std::make_unique<proxy::body_budget>(st.settings.max_buffered);
  try {
    std::vector<proxy::io_thread*> threads;
    std::vector<boost::asio::io_context*> contexts;
    for (unsigned i = 0; i < count; ++i) {
      st.threads.push_back(
        std::make_unique<proxy::io_thread>(st.settings, i));
      auto& thread = *st.threads.back();
      thread.set_port_source(st.make_ports(thread.context(), i, thread.counters()));
      thread.set_limits(st.gate.get(), st.budget.get());
      threads.push_back(&thread);
      contexts.push_back(&thread.context());
    }
    auto acceptors = proxy::listen_group(contexts, st.settings.listen, inherited_fds);
    // A socket per thread: each listener feeds its own thread. Fewer (a
    // predecessor's single socket): each feeds all of them in turn.
    bool own_thread_each = acceptors.size() >= threads.size();
    for (std::size_t k = 0; k < acceptors.size(); ++k) {
      auto served = own_thread_each ? std::vector<proxy::io_thread*>{threads[k % threads.size()]}
                                    : threads;
      st.listeners.push_back(std::make_shared<proxy::listener>(std::move(acceptors[k]),
                                                               std::move(served), *st.gate));
    }
  } catch (...) {
    // Nothing runs yet: drop what was built, so start() may be tried again.
    st.listeners.clear();
    st.threads.clear();
    throw;
  }
  st.port = st.listeners.front()->port();
  // A connection closing below the bound wakes every listener the gate
  // stopped (any thread; each resumes on its own).
  st.gate->on_room([weak = std::vector<std::weak_ptr<proxy::listener>>(st.listeners.begin(),
                                                                       st.listeners.end())] {
    for (auto& w : weak)
      if (auto l = w.lock())
        l->resume();
  });
  for (auto& l : st.listeners)
    l->run();
  for (auto& thread : st.threads)
    thread->start();
  st.running = true;
  log::info("proxy", "listening",
            {{"host", st.settings.listen.host},
             {"port", st.port},
             {"io_threads", count},
             {"listening_sockets", st.listeners.size()},
             {"max_connections", max_connections}});
}

void proxy_server::shutdown(listen_sockets sockets) {
  auto& st = *impl_;
  if (!st.running)
    return;
  st.running = false;
  // First no new connections, then the sessions. Every answer from here
  // on says Connection: close, but the threads begin their shutdown only
  // once every listener has stopped: the connections taken from the
  // listeners' queues are posted to them by then, and are served.
  for (auto& thread : st.threads)
    thread->announce_shutdown();
  auto mode = sockets == listen_sockets::close ? proxy::listener::stop_mode::close
                                               : proxy::listener::stop_mode::hand_over;
  std::vector<std::future<void>> stopped;
  for (auto& l : st.listeners)
    stopped.push_back(l->stop(mode));
  for (auto& done : stopped)
    done.wait();
  for (auto& thread : st.threads)
    thread->begin_shutdown();
  for (auto& thread : st.threads)
    thread->join();
  // No listener to wake any more; sessions the io_contexts still hold
  // may leave the gate as they are destroyed.
  st.gate->on_room({});
  st.listeners.clear();
  log::info("proxy", "stopped");
}

uint16_t proxy_server::port() const {
  return impl_->port;
}

std::vector<int> proxy_server::listen_fds() const {
  std::vector<int> fds;
  for (auto& l : impl_->listeners)
    fds.push_back(l->native_handle());
  return fds;
}

void proxy_server::reconfigure(const proxy_settings& settings) {
  auto& st = *impl_;
  auto next = settings;
  next.listen = st.settings.listen;
  next.threads = st.settings.threads;
  st.settings = next;
  for (auto& thread : st.threads)
    thread->reconfigure(next);
}

proxy_stats proxy_server::stats() const {
  proxy_stats sum;
  for (const auto& thread : impl_->threads)
    sum += std::as_const(*thread).counters().snapshot();
  if (impl_->budget) {
    sum.buffered_bytes = impl_->budget->used();
    sum.max_buffered = impl_->settings.max_buffered;
  }
  if (impl_->gate)
    sum.max_connections = impl_->gate->max();
  return sum;
}

} // namespace corral
