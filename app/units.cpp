// Duration and size parsing for the config file.
#include "app/units.hpp"

#include <array>
#include <cmath>
#include <utility>

namespace corral {

namespace {

/// Splits "1.5s" into the number 1.5 and the unit "s"; false when malformed.
bool split_number(std::string_view text, double& number, std::string_view& unit,
                  bool allow_fraction) {
  size_t i = 0;
  bool digits = false;
  bool dot = false;
  double value = 0;
  double scale = 0.1;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c >= '0' && c <= '9') {
      digits = true;
      if (dot) {
        value += (c - '0') * scale;
        scale /= 10;
      } else {
        value = value * 10 + (c - '0');
      }
    } else if (c == '.' && allow_fraction && !dot && digits) {
      dot = true;
    } else {
      break;
    }
  }
  if (!digits || (dot && text[i - 1] == '.'))
    return false;
  number = value;
  unit = text.substr(i);
  return true;
}

} // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  double number = 0;
  std::string_view unit;
  if (!split_number(text, number, unit, true))
    return std::nullopt;
  static constexpr std::array<std::pair<std::string_view, double>, 4> units{{
    {"ms", 1.0},
    {"s", 1000.0},
    {"m", 60'000.0},
    {"h", 3'600'000.0},
  }};
  for (auto& [name, factor] : units) {
    if (unit == name) {
      double ms = number * factor;
      // Sub-millisecond values cannot be honoured by any timer corral uses.
      if (ms != std::floor(ms) || ms > 1e12)
        return std::nullopt;
      return std::chrono::milliseconds{static_cast<int64_t>(ms)};
    }
  }
  return std::nullopt;
}

std::optional<uint64_t> parse_size(std::string_view text) {
  double number = 0;
  std::string_view unit;
  if (!split_number(text, number, unit, false))
    return std::nullopt;
  static constexpr std::array<std::pair<std::string_view, uint64_t>, 8> units{{
    {"", 1},
    {"B", 1},
    {"KiB", 1ull << 10},
    {"MiB", 1ull << 20},
    {"GiB", 1ull << 30},
    {"KB", 1'000},
    {"MB", 1'000'000},
    {"GB", 1'000'000'000},
  }};
  for (auto& [name, factor] : units)
    if (unit == name) {
      if (number > static_cast<double>(UINT64_MAX / factor))
        return std::nullopt;
      return static_cast<uint64_t>(number) * factor;
    }
  return std::nullopt;
}

std::string format_duration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0)
    return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0)
    return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0)
    return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string format_size(uint64_t bytes) {
  if (bytes != 0 && bytes % (1ull << 30) == 0)
    return std::to_string(bytes >> 30) + "GiB";
  if (bytes != 0 && bytes % (1ull << 20) == 0)
    return std::to_string(bytes >> 20) + "MiB";
  if (bytes != 0 && bytes % (1ull << 10) == 0)
    return std::to_string(bytes >> 10) + "KiB";
  return std::to_string(bytes) + "B";
}

} // namespace corral
