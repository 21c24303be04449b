// chaos: kills and crashes containers of a corral pool under load and reports what clients saw.
#include "tools/chaos/chaos_run.hpp"
#include "tools/chaos/options.hpp"
#include "tools/common/http_client.hpp"

#include <atomic>
#include <csignal>
#include <iostream>
#include <string_view>
#include <vector>

namespace {

// Set by SIGINT/SIGTERM: the run stops injecting, settles and still reports,
// so an interrupted run leaves no half-killed pool unexplained.
std::atomic<bool> interrupted{false};

extern "C" void on_signal(int sig) {
  interrupted = true;
  // A second ^C should not wait for the settling: it ends chaos at once.
  std::signal(sig, SIG_DFL);
}

} // namespace

int main(int argc, char** argv) {
  using namespace corral::chaos;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  auto parsed = parse_command_line(args);
  if (std::holds_alternative<show_help>(parsed)) {
    std::cout << usage_text;
    return 0;
  }
  if (auto* error = std::get_if<usage_error>(&parsed)) {
    std::cerr << "chaos: " << error->message << "\n(chaos --help lists the options)\n";
    return 2;
  }
  auto& options = std::get<chaos_options>(parsed);

  corral::http::init(); // before any thread: curl_global_init is not thread-safe
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  auto outcome = run_chaos(options, interrupted);
  if (!outcome.report) {
    std::cerr << "chaos: " << outcome.error << "\n";
    return outcome.exit_code;
  }
  std::cout << render_table(*outcome.report);
  if (options.json)
    std::cout << render_json(*outcome.report) << "\n";
  return outcome.exit_code;
}
