// Durations and sizes as the config file writes them.
#include "app/units.hpp"

#include <gtest/gtest.h>

using namespace corral;
using namespace std::chrono_literals;

TEST(parse_duration, accepts_ms_s_m_h_and_fractions) {
  EXPECT_EQ(parse_duration("500ms"), 500ms);
  EXPECT_EQ(parse_duration("1s"), 1s);
  EXPECT_EQ(parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(parse_duration("2m"), 120s);
  EXPECT_EQ(parse_duration("1h"), 3600s);
  EXPECT_EQ(parse_duration("0s"), 0ms);
}

TEST(parse_duration, rejects_missing_or_unknown_units_and_junk) {
  for (auto text : {"", "1", "s", "1 s", "1sec", "-1s", "1.s", ".5s", "1.0001s", "1e3ms", "ms"})
    EXPECT_FALSE(parse_duration(text).has_value()) << text;
}

TEST(parse_size, accepts_binary_and_decimal_units) {
  EXPECT_EQ(parse_size("16MiB"), 16ull << 20);
  EXPECT_EQ(parse_size("512KiB"), 512ull << 10);
  EXPECT_EQ(parse_size("1GiB"), 1ull << 30);
  EXPECT_EQ(parse_size("10MB"), 10'000'000ull);
  EXPECT_EQ(parse_size("100"), 100ull);
  EXPECT_EQ(parse_size("100B"), 100ull);
}

TEST(parse_size, rejects_fractions_and_unknown_units) {
  for (auto text : {"", "1.5MiB", "16mib", "MiB", "-1", "99999999999999999999GiB"})
    EXPECT_FALSE(parse_size(text).has_value()) << text;
}

TEST(format_units, round_trip_the_defaults) {
  EXPECT_EQ(format_duration(1s), "1s");
  EXPECT_EQ(format_duration(500ms), "500ms");
  EXPECT_EQ(format_duration(120s), "2m");
  EXPECT_EQ(format_size(16ull << 20), "16MiB");
  EXPECT_EQ(format_size(1000), "1000B");
}
