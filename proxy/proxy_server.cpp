// The reverse proxy front end: io threads, listener, graceful shutdown.
#include "proxy/proxy_server.hpp"

#include "log/log.hpp"
#include "proxy/io_thread.hpp"
#include "proxy/listener.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace corral {

struct proxy_server::impl {
  proxy_settings settings;
  port_source_factory make_ports;
  /// Declared before the threads: their sessions leave them as they close.
  std::unique_ptr<proxy::connection_gate> gate;
  std::unique_ptr<proxy::body_budget> budget;
  // The threads are declared before the listener: its acceptor lives on
  // thread 0's io_context and must be destroyed before it.
  std::vector<std::unique_ptr<proxy::io_thread>> threads;
  std::shared_ptr<proxy::listener> listener;
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

void proxy_server::start(int inherited_fd) {
  auto& st = *impl_;
  // Once only: a stopped server's io_contexts live on until destruction.
  if (!st.threads.empty())
    return;
  auto count = std::max(1u, st.settings.threads);
  auto max_connections = st.settings.max_connections > 0 ? st.settings.max_connections
                                                         : uint64_t{10000};
  st.gate = std::make_unique<proxy::connection_gate>(max_connections);
  st.budget = std::make_unique<proxy::body_budget>(st.settings.max_buffered);
  try {
    std::vector<proxy::io_thread*> threads;
    for (unsigned i = 0; i < count; ++i) {
      st.threads.push_back(
        std::make_unique<proxy::io_thread>(st.settings, i));
      auto& thread = *st.threads.back();
      thread.set_port_source(st.make_ports(thread.context(), i, thread.counters()));
      thread.set_limits(st.gate.get(), st.budget.get());
      threads.push_back(&thread);
    }
    auto acceptor = proxy::listen_on(threads.front()->context(),
                                     st.settings.listen, inherited_fd);
    st.listener = std::make_shared<proxy::listener>(std::move(acceptor),
                                                    std::move(threads), *st.gate);
  } catch (...) {
    // Nothing runs yet: drop what was built, so start() may be tried again.
    st.listener.reset();
    st.threads.clear();
    throw;
  }
  st.port = st.listener->port();
  st.listener->run();
  for (auto& thread : st.threads)
    thread->start();
  st.running = true;
  log::info("proxy", "listening",
            {{"host", st.settings.listen.host},
             {"port", st.port},
             {"io_threads", count},
             {"max_connections", max_connections}});
}

void proxy_server::shutdown() {
  auto& st = *impl_;
  if (!st.running)
    return;
  st.running = false;
  // First no new connections, then the sessions: the stop is queued on
  // thread 0 ahead of its own shutdown.
  st.listener->stop();
  for (auto& thread : st.threads)
    thread->begin_shutdown();
  for (auto& thread : st.threads)
    thread->join();
  // No listener to wake any more; sessions the io_contexts still hold
  // may leave the gate as they are destroyed.
  st.gate->on_room({});
  st.listener.reset();
  log::info("proxy", "stopped");
}

uint16_t proxy_server::port() const {
  return impl_->port;
}

int proxy_server::listen_fd() const {
  return impl_->listener ? impl_->listener->native_handle() : -1;
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
