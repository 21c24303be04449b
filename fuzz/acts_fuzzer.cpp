// Fuzzes the Acts API: its routing, its request validation (JSON bodies,
// timestamps, base64, names, ranges, percent-encoding) and the store behind
// it, on a fresh SQLite database per input.
//
// An input is a session of requests separated by a line "=====":
//   POST /api/v1/users
//   {"username":"alice","password":"da39a3ee5e6b4b0d3255bfef95601890afd80709"}
//   =====
//   GET /api/v1/users
// Each request is its first line "METHOD TARGET" and the body after it.
// Every answer must be one of the API's statuses (a 500 only once
// /api/v1/_crash was posted), and a JSON answer must be valid JSON.
#include "log/log.hpp"
#include "workloads/acts/api.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unistd.h>

namespace {

// The database lives in memory-backed /dev/shm when there is one: every
// write is committed with synchronous=FULL.
std::string scratch_db() {
  const char* dir = std::getenv("CORRAL_FUZZ_DB_DIR");
  std::string base = dir != nullptr && *dir != '\0'           ? dir
                     : access("/dev/shm", W_OK) == 0         ? "/dev/shm"
                     : std::getenv("TMPDIR") != nullptr ? std::getenv("TMPDIR")
                                                             : "/tmp";
  return base + "/corral-acts-fuzz-" + std::to_string(getpid()) + ".db";
}

void remove_db(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"})
    std::remove((path + suffix).c_str());
}

bool known_status(unsigned status) {
  switch (status) {
    case 200: case 201: case 204: case 400: case 404: case 405: case 413: case 500:
      return true;
    default:
      return false;
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // A warning per posted _crash would be most of the output.
  corral::log::set_level(corral::log::level::error);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = scratch_db();
  remove_db(path);
  {
    acts::store_pool stores{path};
    stores.open_first();
    acts::api service{stores};

    std::string_view rest{reinterpret_cast<const char*>(data), size};
    constexpr std::string_view separator = "\n=====\n";
    bool crashed = false;
    while (!rest.empty()) {
      auto end = rest.find(separator);
      auto text = rest.substr(0, end);
      rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + separator.size());

      auto line_end = text.find('\n');
      auto line = text.substr(0, line_end);
      auto body = line_end == std::string_view::npos ? std::string_view{} : text.substr(line_end + 1);
      auto space = line.find(' ');
      auto method = line.substr(0, space);
      auto target = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);

      auto response = service.handle(acts::api_request{method, target, body});
      auto fail = [&](const char* why) {
        std::fprintf(stderr, "acts_fuzzer: %s: %.*s %.*s answered %u: %s\n", why,
                     static_cast<int>(method.size()), method.data(), static_cast<int>(target.size()),
                     target.data(), response.status, response.body.c_str());
        std::abort();
      };
      if (!known_status(response.status) || (response.status == 500 && !crashed))
        fail("an unexpected status");
      if (response.status == 405 && response.allow.empty())
        fail("a 405 without Allow");
      if (response.content_type == "application/json" && !response.body.empty()) {
        boost::json::error_code ec;
        (void) boost::json::parse(response.body, ec);
        if (ec)
          fail("an answer that is not JSON");
      }
      crashed = service.crashed();
    }
  }
  remove_db(path);
  return 0;
}
