// acts-load: uploads generated PNG acts to an Acts service (directly or through corral) and verifies them.
#include <charconv>
#include <chrono>
#include <iostream>
#include <string>
#include <string_view>

#include "tools/acts_load/load_run.hpp"
#include "tools/common/http_client.hpp"

namespace {

constexpr std::string_view usage =
  "usage: acts-load [--url http://127.0.0.1:8080] [--images 100] [--categories 5]\n"
  "                 [--seed N] [--min-kb 10] [--max-kb 1024] [--attempts 4]\n"
  "Creates the user acts-load and the categories acts-load-1..N, uploads generated PNG\n"
  "images as acts, reads them all back and checks that every act acknowledged with 201\n"
  "is stored exactly once with identical bytes. Exit status: 0 all verified, 1 an\n"
  "acknowledged act is missing, corrupted or duplicated (or setup failed), 2 bad usage.\n";

template <class Number>
bool parse_number(std::string_view text, Number& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size();
}

int bad_usage(const std::string& message) {
  std::cerr << "acts-load: " << message << "\n" << usage;
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  acts_load::load_options options;
  // Without --seed each run draws different images; the seed is printed so
  // that a failing run can be repeated.
  options.seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << usage;
      return 0;
    }
    if (i + 1 >= argc)
      return bad_usage("missing value for " + std::string{flag});
    std::string_view value = argv[++i];
    bool ok = true;
    if (flag == "--url") {
      auto base = corral::http::loopback_base_url(value);
      if (!base)
        return bad_usage("--url must be http://127.x.y.z[:port] or http://localhost[:port]: acts-load only "
                         "sends traffic to loopback");
      options.base_url = *base;
    } else if (flag == "--images") {
      ok = parse_number(value, options.images) && options.images >= 0;
    } else if (flag == "--categories") {
      ok = parse_number(value, options.categories) && options.categories >= 1;
    } else if (flag == "--seed") {
      ok = parse_number(value, options.seed);
    } else if (flag == "--min-kb") {
      ok = parse_number(value, options.min_kb) && options.min_kb >= 1;
    } else if (flag == "--max-kb") {
      ok = parse_number(value, options.max_kb) && options.max_kb >= 1;
    } else if (flag == "--attempts") {
      ok = parse_number(value, options.attempts) && options.attempts >= 1;
    } else {
      return bad_usage("unknown option " + std::string{flag});
    }
    if (!ok)
      return bad_usage("bad value for " + std::string{flag} + ": " + std::string{value});
  }
  if (options.min_kb > options.max_kb)
    return bad_usage("--min-kb must not exceed --max-kb");
  // Base64 grows images by 4/3 and the service refuses bodies over 16 MiB.
  if (options.max_kb > 12 * 1024)
    return bad_usage("--max-kb must be at most 12288: larger acts exceed the service's 16 MiB body limit");

  auto summary = acts_load::run_load(options, std::cerr);
  acts_load::print_summary(options, summary, std::cout);
  return summary.ok() ? 0 : 1;
}
