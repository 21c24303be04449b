// Fuzzes the TOML config loader: any bytes are a config file. The loader must
// answer with a config or one error that renders, and never crash, hang or
// leak. A config it accepts must load again from the file it was read from
// and compare equal to itself in every restart-only key.
#include "app/config.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unistd.h>
#include <variant>

namespace {

// load_config reads the same text from a file: write each input once to a
// scratch file of this process.
std::string scratch_path() {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/corral-config-fuzz-"
         + std::to_string(getpid()) + ".toml";
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  corral::log::set_level(corral::log::level::error);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto parsed = corral::parse_config(text, "fuzz.toml");
  if (auto* error = std::get_if<corral::config_error>(&parsed)) {
    if (error->render().empty() || error->message.empty())
      std::abort(); // every rejection says why
    return 0;
  }
  auto& cfg = std::get<corral::config>(parsed);
  if (!corral::restart_only_changes(cfg, cfg).empty())
    std::abort();

  static const std::string path = scratch_path();
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
    auto loaded = corral::load_config(path);
    std::remove(path.c_str());
    // The same bytes from a file are the same config.
    if (!std::holds_alternative<corral::config>(loaded)
        || !corral::restart_only_changes(cfg, std::get<corral::config>(loaded)).empty())
      std::abort();
  }
  return 0;
}
