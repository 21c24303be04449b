// Tests of the Acts field formats: timestamps, base64, SHA-1 hex, names, ids.
#include "workloads/acts/validate.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace acts;

TEST(acts_validate, timestamp_is_day_month_year_then_seconds_minutes_hours) {
  // 29 Feb 2024, 07:06:05 UTC.
  auto seconds = parse_timestamp("29-02-2024:05-06-07");
  ASSERT_TRUE(seconds);
  EXPECT_EQ(*seconds, 1709190365);
  EXPECT_EQ(format_timestamp(*seconds), "29-02-2024:05-06-07");
}

TEST(acts_validate, timestamp_epoch_and_pre_epoch_round_trip) {
  EXPECT_EQ(parse_timestamp("01-01-1970:00-00-00"), 0);
  EXPECT_EQ(format_timestamp(0), "01-01-1970:00-00-00");
  auto before = parse_timestamp("31-12-1969:59-59-23");
  ASSERT_TRUE(before);
  EXPECT_EQ(*before, -1);
  EXPECT_EQ(format_timestamp(-1), "31-12-1969:59-59-23");
}

TEST(acts_validate, timestamp_rejects_impossible_dates_and_times) {
  EXPECT_FALSE(parse_timestamp("29-02-2023:00-00-00")); // not a leap year
  EXPECT_FALSE(parse_timestamp("31-04-2024:00-00-00"));
  EXPECT_FALSE(parse_timestamp("00-01-2024:00-00-00"));
  EXPECT_FALSE(parse_timestamp("01-13-2024:00-00-00"));
  EXPECT_FALSE(parse_timestamp("01-01-0000:00-00-00"));
  EXPECT_FALSE(parse_timestamp("01-01-2024:60-00-00"));
  EXPECT_FALSE(parse_timestamp("01-01-2024:00-60-00"));
  EXPECT_FALSE(parse_timestamp("01-01-2024:00-00-24"));
  EXPECT_TRUE(parse_timestamp("29-02-2000:59-59-23"));
}

TEST(acts_validate, timestamp_rejects_other_shapes) {
  EXPECT_FALSE(parse_timestamp(""));
  EXPECT_FALSE(parse_timestamp("2024-02-29T07:06:05Z"));
  EXPECT_FALSE(parse_timestamp("1-02-2024:05-06-07"));
  EXPECT_FALSE(parse_timestamp("01-02-2024:05-06-07 "));
  EXPECT_FALSE(parse_timestamp("01/02/2024:05-06-07"));
  EXPECT_FALSE(parse_timestamp("01-02-2024 05-06-07"));
  EXPECT_FALSE(parse_timestamp("0a-02-2024:05-06-07"));
  EXPECT_FALSE(parse_timestamp("+1-02-2024:05-06-07"));
}

TEST(acts_validate, base64_round_trips_every_length_and_byte) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    auto text = encode_base64(bytes);
    auto decoded = decode_base64(text);
    ASSERT_TRUE(decoded) << text;
    EXPECT_EQ(*decoded, bytes);
    bytes.push_back(static_cast<char>(i * 37));
  }
}

TEST(acts_validate, base64_matches_rfc4648_vectors) {
  EXPECT_EQ(encode_base64(""), "");
  EXPECT_EQ(encode_base64("f"), "Zg==");
  EXPECT_EQ(encode_base64("fo"), "Zm8=");
  EXPECT_EQ(encode_base64("foo"), "Zm9v");
  EXPECT_EQ(encode_base64("foob"), "Zm9vYg==");
  EXPECT_EQ(encode_base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(encode_base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(decode_base64("Zm9vYmE="), "fooba");
}

TEST(acts_validate, base64_rejects_malformed_text) {
  EXPECT_FALSE(decode_base64("Zm9"));        // length not a multiple of 4
  EXPECT_FALSE(decode_base64("Zm9v\n"));     // whitespace
  EXPECT_FALSE(decode_base64("Zm-v"));       // URL-safe alphabet
  EXPECT_FALSE(decode_base64("Z=9v"));       // padding inside
  EXPECT_FALSE(decode_base64("Zg==Zg=="));   // padding before the end
  EXPECT_FALSE(decode_base64("===="));
  EXPECT_FALSE(decode_base64("Z==="));
  EXPECT_FALSE(decode_base64("not base64!"));
}

// Non-zero padding bits decode, but would be returned re-encoded differently.
TEST(acts_validate, base64_rejects_non_canonical_padding_bits) {
  EXPECT_FALSE(decode_base64("Zh=="));
  EXPECT_FALSE(decode_base64("Zm9="));
  EXPECT_TRUE(decode_base64("Zg=="));
  EXPECT_TRUE(decode_base64("Zm8="));
}

TEST(acts_validate, sha1_hex_is_exactly_40_hex_digits) {
  EXPECT_TRUE(is_sha1_hex("da39a3ee5e6b4b0d3255bfef95601890afd80709"));
  EXPECT_TRUE(is_sha1_hex("DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"));
  EXPECT_FALSE(is_sha1_hex("da39a3ee5e6b4b0d3255bfef95601890afd8070"));
  EXPECT_FALSE(is_sha1_hex("da39a3ee5e6b4b0d3255bfef95601890afd807090"));
  EXPECT_FALSE(is_sha1_hex("ga39a3ee5e6b4b0d3255bfef95601890afd80709"));
  EXPECT_FALSE(is_sha1_hex(""));
}

TEST(acts_validate, names_are_1_to_128_bytes_without_control_characters) {
  EXPECT_TRUE(is_valid_name("a"));
  EXPECT_TRUE(is_valid_name("cats & dogs/2024"));
  EXPECT_TRUE(is_valid_name(std::string(128, 'x')));
  EXPECT_FALSE(is_valid_name(std::string(129, 'x')));
  EXPECT_FALSE(is_valid_name(""));
  EXPECT_FALSE(is_valid_name("tab\there"));
  EXPECT_FALSE(is_valid_name(std::string{"nul\0", 4}));
}

TEST(acts_validate, non_negative_numbers_are_plain_digits_within_int64) {
  EXPECT_EQ(parse_non_negative("0"), 0);
  EXPECT_EQ(parse_non_negative("042"), 42);
  EXPECT_EQ(parse_non_negative("9223372036854775807"), INT64_MAX);
  EXPECT_FALSE(parse_non_negative("9223372036854775808"));
  EXPECT_FALSE(parse_non_negative(""));
  EXPECT_FALSE(parse_non_negative("-1"));
  EXPECT_FALSE(parse_non_negative("+1"));
  EXPECT_FALSE(parse_non_negative("1.0"));
  EXPECT_FALSE(parse_non_negative(" 1"));
}

} // namespace

TEST(acts_validate, utf8_is_well_formed_only) {
  EXPECT_TRUE(is_utf8(""));
  EXPECT_TRUE(is_utf8("cats"));
  EXPECT_TRUE(is_utf8("k\xc3\xa4tzchen"));             // ä
  EXPECT_TRUE(is_utf8("\xe2\x82\xac"));                // €
  EXPECT_TRUE(is_utf8("\xf0\x9f\x90\x88"));            // 🐈
  EXPECT_TRUE(is_utf8("\xf4\x8f\xbf\xbf"));            // U+10FFFF
  EXPECT_FALSE(is_utf8("alice\xc9"));                  // a lead byte cut off
  EXPECT_FALSE(is_utf8("\x80"));                       // a lone continuation byte
  EXPECT_FALSE(is_utf8("\xc0\xaf"));                   // overlong '/'
  EXPECT_FALSE(is_utf8("\xe0\x80\xaf"));               // overlong '/'
  EXPECT_FALSE(is_utf8("\xed\xa0\x80"));               // a surrogate
  EXPECT_FALSE(is_utf8("\xf4\x90\x80\x80"));           // past U+10FFFF
  EXPECT_FALSE(is_utf8("\xe2\x82"));                   // cut off
  EXPECT_FALSE(is_utf8("\xe2\x28\xa1"));               // a bad continuation
  EXPECT_FALSE(is_utf8("\xff"));
}
