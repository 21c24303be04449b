// Validation and encoding of the Acts API's field formats: timestamps, base64, SHA-1 hex, names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace acts {

/// Parses an act timestamp "DD-MM-YYYY:SS-MM-HH" (day, month, year, then
/// seconds, minutes, hours) and returns it as seconds since the Unix epoch,
/// taking the time as UTC. Returns nothing unless the text has exactly that
/// shape and names a real calendar date and time of day.
std::optional<std::int64_t> parse_timestamp(std::string_view text);

/// Formats seconds since the Unix epoch (UTC) as "DD-MM-YYYY:SS-MM-HH".
std::string format_timestamp(std::int64_t seconds_since_epoch);

/// Decodes standard base64 (RFC 4648 §4, with padding). Only the canonical
/// encoding is accepted (no whitespace, zero padding bits), so that encoding
/// the result again reproduces `text` byte for byte.
std::optional<std::string> decode_base64(std::string_view text);

/// Encodes bytes as standard, padded base64.
std::string encode_base64(std::string_view bytes);

/// Tells whether `text` is 40 hexadecimal digits (a SHA-1 digest).
bool is_sha1_hex(std::string_view text);

/// Tells whether `text` may name a user or a category: 1 to 128 bytes and
/// no control characters.
bool is_valid_name(std::string_view text);

/// Tells whether `text` is well-formed UTF-8 (RFC 3629: no overlong forms,
/// no surrogates, nothing past U+10FFFF). JSON text must be UTF-8, so only
/// such bytes may be echoed into an answer.
bool is_utf8(std::string_view text);

/// Parses a non-negative decimal integer that fits an int64: digits only, no
/// sign and no spaces ("42" and "042" are 42; "", "-1", "4x" are nothing).
std::optional<std::int64_t> parse_non_negative(std::string_view text);

} // namespace acts
