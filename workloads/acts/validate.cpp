// Validation and encoding of the Acts API's field formats (see validate.hpp).
#include "workloads/acts/validate.hpp"

#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>

namespace acts {

namespace {

// Reads `text[pos, pos + width)` as an unsigned decimal; every byte must be a digit.
std::optional<int> digits_at(std::string_view text, std::size_t pos, std::size_t width) {
  int value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9')
      return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

constexpr std::string_view base64_alphabet =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Maps a byte to its 6-bit base64 value, or -1 for bytes outside the alphabet.
constexpr std::array<std::int8_t, 256> make_base64_values() {
  std::array<std::int8_t, 256> values{};
  values.fill(-1);
  for (std::size_t i = 0; i < base64_alphabet.size(); ++i)
    values[static_cast<unsigned char>(base64_alphabet[i])] = static_cast<std::int8_t>(i);
  return values;
}

constexpr auto base64_values = make_base64_values();

} // namespace

std::optional<std::int64_t> parse_timestamp(std::string_view text) {
  // DD-MM-YYYY:SS-MM-HH
  // 0123456789012345678
  if (text.size() != 19 || text[2] != '-' || text[5] != '-' || text[10] != ':'
      || text[13] != '-' || text[16] != '-')
    return std::nullopt;
  auto day = digits_at(text, 0, 2);
  auto month = digits_at(text, 3, 2);
  auto year = digits_at(text, 6, 4);
  auto second = digits_at(text, 11, 2);
  auto minute = digits_at(text, 14, 2);
  auto hour = digits_at(text, 17, 2);
  if (!day || !month || !year || !second || !minute || !hour)
    return std::nullopt;
  using namespace std::chrono;
  // Year 0000 does not exist in the calendar people write dates in.
  auto date = std::chrono::year{*year} / std::chrono::month{static_cast<unsigned>(*month)}
              / std::chrono::day{static_cast<unsigned>(*day)};
  if (*year < 1 || !date.ok() || *hour > 23 || *minute > 59 || *second > 59)
    return std::nullopt;
  auto days_since_epoch = sys_days{date}.time_since_epoch().count();
  return std::int64_t{days_since_epoch} * 86400 + *hour * 3600 + *minute * 60 + *second;
}

std::string format_timestamp(std::int64_t seconds_since_epoch) {
  using namespace std::chrono;
  // Floor division, so that instants before 1970 land on the right day.
  auto days = seconds_since_epoch / 86400 - (seconds_since_epoch % 86400 < 0 ? 1 : 0);
  auto in_day = seconds_since_epoch - days * 86400;
  year_month_day date{sys_days{std::chrono::days{static_cast<int>(days)}}};
  std::array<char, 32> out{};
  std::snprintf(out.data(), out.size(), "%02u-%02u-%04d:%02d-%02d-%02d",
                static_cast<unsigned>(date.day()), static_cast<unsigned>(date.month()),
                static_cast<int>(date.year()), static_cast<int>(in_day % 60),
                static_cast<int>(in_day / 60 % 60), static_cast<int>(in_day / 3600));
  return out.data();
}

std::optional<std::string> decode_base64(std::string_view text) {
  if (text.size() % 4 != 0)
    return std::nullopt;
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=')
    padding = text[text.size() - 2] == '=' ? 2 : 1;
  std::string bytes;
  bytes.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    bool last_quad = i + 4 == text.size();
    // Padding may only appear at the very end of the last quad.
    std::size_t data_chars = last_quad ? 4 - padding : 4;
    std::uint32_t quad = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      std::int8_t value = 0;
      if (k < data_chars) {
        value = base64_values[static_cast<unsigned char>(text[i + k])];
        if (value < 0)
          return std::nullopt;
      }
      quad = quad << 6 | static_cast<std::uint32_t>(value);
    }
    bytes.push_back(static_cast<char>(quad >> 16));
    if (data_chars > 2)
      bytes.push_back(static_cast<char>(quad >> 8 & 0xff));
    if (data_chars > 3)
      bytes.push_back(static_cast<char>(quad & 0xff));
    // Non-zero bits beyond the last byte would decode fine but re-encode
    // differently: reject them so the stored image round-trips exactly.
    if (last_quad && ((padding == 1 && (quad & 0xff) != 0) || (padding == 2 && (quad & 0xffff) != 0)))
      return std::nullopt;
  }
  return bytes;
}

std::string encode_base64(std::string_view bytes) {
  std::string text;
  text.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t at) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t triple = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    text.push_back(base64_alphabet[triple >> 18 & 63]);
    text.push_back(base64_alphabet[triple >> 12 & 63]);
    text.push_back(base64_alphabet[triple >> 6 & 63]);
    text.push_back(base64_alphabet[triple & 63]);
  }
  if (auto rest = bytes.size() - i; rest > 0) {
    std::uint32_t triple = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
    text.push_back(base64_alphabet[triple >> 18 & 63]);
    text.push_back(base64_alphabet[triple >> 12 & 63]);
    text.push_back(rest == 2 ? base64_alphabet[triple >> 6 & 63] : '=');
    text.push_back('=');
  }
  return text;
}

bool is_sha1_hex(std::string_view text) {
  if (text.size() != 40)
    return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
      return false;
  return true;
}

bool is_valid_name(std::string_view text) {
  if (text.empty() || text.size() > 128)
    return false;
  for (char c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return false;
  return true;
}

bool is_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xbf; // the range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      length = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      length = 3;
      if (c == 0xe0)
        low = 0xa0; // overlong
      else if (c == 0xed)
        high = 0x9f; // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      length = 4;
      if (c == 0xf0)
        low = 0x90; // overlong
      else if (c == 0xf4)
        high = 0x8f; // past U+10FFFF
    } else {
      return false; // a continuation byte, an overlong lead, or 0xf5..0xff
    }
    if (text.size() - i < length)
      return false;
    auto second = static_cast<unsigned char>(text[i + 1]);
    if (second < low || second > high)
      return false;
    for (std::size_t k = 2; k < length; ++k)
      if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80)
        return false;
    i += length;
  }
  return true;
}

std::optional<std::int64_t> parse_non_negative(std::string_view text) {
  if (text.empty())
    return std::nullopt;
  for (char c : text)
    if (c < '0' || c > '9')
      return std::nullopt;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return value;
}

} // namespace acts
