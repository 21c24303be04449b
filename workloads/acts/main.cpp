// The acts executable: reads the environment, opens the database, serves HTTP until SIGTERM or SIGINT.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "log/log.hpp"
#include "workloads/acts/api.hpp"
#include "workloads/acts/server.hpp"
#include "workloads/acts/store.hpp"
#include "workloads/acts/validate.hpp"

namespace net = boost::asio;

namespace {

namespace log = corral::log;

/// Threads running the io_context. Requests that wait for the database's
/// write lock block their thread, so a few threads keep health checks and
/// reads flowing while one request waits for another container's write.
constexpr int io_threads = 4;

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

// Runs the io_context until it is stopped. A handler that throws (it should
// not: every request is answered, failures included) costs one log line, not
// the process.
void run_io(net::io_context& io) {
  for (;;) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {
      log::error("acts", "unexpected error in an io handler", {{"error", e.what()}});
    }
  }
}

} // namespace

int main() {
  // A client closing early must not kill the process through a write to a
  // dead pipe (stderr included); Asio already sends with MSG_NOSIGNAL.
  std::signal(SIGPIPE, SIG_IGN);

  auto port_text = env_or("PORT", "8000");
  auto port = acts::parse_non_negative(port_text);
  if (!port || *port < 1 || *port > 65535) {
    log::error("acts", "PORT must be a TCP port number (1-65535)", {{"port", port_text}});
    return 2;
  }
  auto db_path = env_or("ACTS_DB", "/data/acts.db");

  acts::store_pool stores{db_path};
  try {
    stores.open_first();
  } catch (const std::exception& e) {
    log::error("acts", "cannot use the database", {{"database", db_path}, {"error", e.what()}});
    return 1;
  }
  acts::api service{stores};

  net::io_context io{io_threads};
  // Containers use host networking: only loopback, never the host's other addresses.
  net::ip::tcp::endpoint endpoint{net::ip::address_v4::loopback(), static_cast<unsigned short>(*port)};
  std::optional<acts::http_server> server;
  try {
    server.emplace(io, endpoint, service);
  } catch (const std::exception& e) {
    log::error("acts", "cannot listen",
               {{"address", "127.0.0.1:" + port_text}, {"error", e.what()}});
    return 1;
  }

  // As PID 1 of a container, the kernel delivers SIGTERM only to a handler
  // we install: without this, `docker stop` would wait and then SIGKILL.
  net::signal_set signals{io, SIGINT, SIGTERM};
  signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
    if (ec)
      return;
    log::info("acts", "stopping", {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
    server->stop();
    io.stop();
  });

  server->start();
  log::info("acts", "listening",
            {{"url", "http://127.0.0.1:" + port_text}, {"database", db_path}, {"threads", io_threads}});

  std::vector<std::thread> threads;
  for (int i = 1; i < io_threads; ++i)
    threads.emplace_back([&io] { run_io(io); });
  run_io(io);
  for (auto& thread : threads)
    thread.join();
  return 0;
}
