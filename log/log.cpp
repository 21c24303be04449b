// The logger's formatting (see log.hpp): a line is built in a stack buffer,
// escaped as its format requires, and handed to the kernel in one write(2).
#include "log/log.hpp"

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <string>

#include <unistd.h>

namespace corral::log {

namespace {

std::atomic<int> min_level{static_cast<int>(level::info)};
std::atomic<format> line_format{format::text};

/// Text lines pad the component to this width, so that messages line up:
/// the longest role, `health_checker`, and `container:65535` fit.
constexpr std::size_t component_width = 16;

/// A line being built: on the stack while it is short, as nearly every line
/// is, on the heap once it grows past that. No thread_local: a line may be
/// logged while the thread's thread_locals are being destroyed.
class line_buffer {
public:
  void append(std::string_view text) {
    if (!on_heap_ && size_ + text.size() <= sizeof(stack_)) {
      std::memcpy(stack_ + size_, text.data(), text.size());
      size_ += text.size();
      return;
    }
    if (!on_heap_) {
      heap_.reserve(2 * (size_ + text.size()));
      heap_.assign(stack_, size_);
      on_heap_ = true;
    }
    heap_.append(text);
  }

  void push(char c) { append(std::string_view{&c, 1}); }

  void pad_to(std::size_t width, std::size_t used) {
    for (; used < width; ++used)
      push(' ');
  }

  std::string_view view() const {
    return on_heap_ ? std::string_view{heap_} : std::string_view{stack_, size_};
  }

private:
  char stack_[1024];
  std::size_t size_ = 0;
  bool on_heap_ = false;
  std::string heap_;
};

template <class Number>
void append_number(line_buffer& out, Number value) {
  char digits[32];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), value);
  if (ec == std::errc{})
    out.append(std::string_view{digits, static_cast<std::size_t>(end - digits)});
}

void append_digits(char* at, unsigned value, int count) {
  for (int i = count - 1; i >= 0; --i) {
    at[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

/// "2026-12-02T05:09:52.123Z". gmtime_r runs once per second and thread:
/// the date and time up to the second are kept for the next line.
void append_timestamp(line_buffer& out) {
  struct second_text {
    std::time_t second = -1;
    char text[20] = {}; // "2026-12-02T05:09:52"
  };
  // Trivially destructible, so usable at any point of the thread's life.
  thread_local second_text cached;
  using namespace std::chrono;
  auto since_epoch = system_clock::now().time_since_epoch();
  auto second = duration_cast<seconds>(since_epoch);
  auto millis = static_cast<unsigned>(duration_cast<milliseconds>(since_epoch - second).count());
  auto as_time_t = static_cast<std::time_t>(second.count());
  if (as_time_t != cached.second) {
    std::tm utc{};
    gmtime_r(&as_time_t, &utc);
    char* t = cached.text;
    append_digits(t, static_cast<unsigned>(utc.tm_year + 1900), 4);
    t[4] = '-';
    append_digits(t + 5, static_cast<unsigned>(utc.tm_mon + 1), 2);
    t[7] = '-';
    append_digits(t + 8, static_cast<unsigned>(utc.tm_mday), 2);
    t[10] = 'T';
    append_digits(t + 11, static_cast<unsigned>(utc.tm_hour), 2);
    t[13] = ':';
    append_digits(t + 14, static_cast<unsigned>(utc.tm_min), 2);
    t[16] = ':';
    append_digits(t + 17, static_cast<unsigned>(utc.tm_sec), 2);
    cached.second = as_time_t;
  }
  char tail[5] = {'.', '0', '0', '0', 'Z'};
  append_digits(tail + 1, millis, 3);
  out.append(std::string_view{cached.text, 19});
  out.append(std::string_view{tail, sizeof(tail)});
}

const char* name_of(level lvl) {
  switch (lvl) {
    case level::debug:
      return "debug";
    case level::info:
      return "info";
    case level::warn:
      return "warn";
    case level::error:
      return "error";
  }
  return "?";
}

/// The length of the well-formed UTF-8 sequence (RFC 3629: no overlong
/// forms, no surrogates, nothing past U+10FFFF) that starts at `at`, or 0
/// when the byte there starts none.
std::size_t utf8_length(std::string_view text, std::size_t at) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  auto lead = byte(at);
  if (lead < 0x80)
    return 1;
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0)
      low = 0xA0; // overlong below U+0800
    else if (lead == 0xED)
      high = 0x9F; // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0)
      low = 0x90; // overlong below U+10000
    else if (lead == 0xF4)
      high = 0x8F; // past U+10FFFF
  } else {
    return 0; // a continuation byte, C0, C1 or F5..FF
  }
  if (at + length > text.size())
    return 0;
  if (byte(at + 1) < low || byte(at + 1) > high)
    return 0;
  for (std::size_t i = 2; i < length; ++i)
    if (byte(at + i) < 0x80 || byte(at + i) > 0xBF)
      return 0;
  return length;
}

bool is_control(unsigned char c) {
  return c < 0x20 || c == 0x7F;
}

constexpr char hex_digits[] = "0123456789abcdef";

void append_hex_escape(line_buffer& out, const char* prefix, unsigned char c) {
  out.append(prefix);
  out.push(hex_digits[c >> 4]);
  out.push(hex_digits[c & 0xF]);
}

// -- text ---------------------------------------------------------------------------

/// Writes `text` with control characters and bytes that are not UTF-8 as
/// escapes (\n, \t, \r, \xHH) and everything else as it is, so that no
/// message, key or value can break the line or a terminal.
void append_text_escaped(line_buffer& out, std::string_view text, bool quoted) {
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      if (auto n = utf8_length(text, i); n > 0) {
        out.append(text.substr(i, n));
        i += n;
      } else {
        append_hex_escape(out, "\\x", c);
        ++i;
      }
      continue;
    }
    switch (c) {
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '"':
      case '\\':
        if (quoted)
          out.push('\\');
        out.push(static_cast<char>(c));
        break;
      default:
        if (is_control(c))
          append_hex_escape(out, "\\x", c);
        else
          out.push(static_cast<char>(c));
    }
    ++i;
  }
}

/// True when a text value must be quoted to be read back as one value:
/// empty, or with a space, a quote, '=', a backslash, a control character or
/// a byte that is not UTF-8.
bool needs_quotes(std::string_view text) {
  if (text.empty())
    return true;
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      auto n = utf8_length(text, i);
      if (n == 0)
        return true;
      i += n;
      continue;
    }
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || is_control(c))
      return true;
    ++i;
  }
  return false;
}

void append_text_value(line_buffer& out, const field& f) {
  switch (f.type()) {
    case field::kind::string:
      if (needs_quotes(f.text())) {
        out.push('"');
        append_text_escaped(out, f.text(), true);
        out.push('"');
      } else {
        out.append(f.text());
      }
      break;
    case field::kind::signed_integer:
      append_number(out, f.signed_value());
      break;
    case field::kind::unsigned_integer:
      append_number(out, f.unsigned_value());
      break;
    case field::kind::floating:
      append_number(out, f.floating_value()); // shortest form that reads back exactly
      break;
    case field::kind::boolean:
      out.append(f.boolean_value() ? "true" : "false");
      break;
  }
}

void format_text(line_buffer& out, level lvl, const source& from, std::string_view message,
                 std::initializer_list<field> fields) {
  append_timestamp(out);
  out.push(' ');
  std::string_view name = name_of(lvl);
  out.append(name);
  out.pad_to(5, name.size());
  out.push(' ');
  // Component names are code constants: their length is their width.
  std::size_t used = from.component.size();
  append_text_escaped(out, from.component, false);
  if (from.port != 0) {
    out.push(':');
    char digits[8];
    auto end = std::to_chars(digits, digits + sizeof(digits), from.port).ptr;
    out.append(std::string_view{digits, static_cast<std::size_t>(end - digits)});
    used += 1 + static_cast<std::size_t>(end - digits);
  }
  out.pad_to(component_width, used);
  out.push(' ');
  append_text_escaped(out, message, false);
  for (auto& f : fields) {
    out.push(' ');
    append_text_escaped(out, f.key(), false);
    out.push('=');
    append_text_value(out, f);
  }
  out.push('\n');
}

// -- JSON ---------------------------------------------------------------------------

/// Writes `text` as a JSON string: quotes, backslashes and control
/// characters escaped, and every byte that is not UTF-8 replaced by U+FFFD,
/// so that every line parses whatever a value held.
void append_json_string(line_buffer& out, std::string_view text) {
  out.push('"');
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      if (auto n = utf8_length(text, i); n > 0) {
        out.append(text.substr(i, n));
        i += n;
      } else {
        out.append("\\ufffd");
        ++i;
      }
      continue;
    }
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (is_control(c))
          append_hex_escape(out, "\\u00", c);
        else
          out.push(static_cast<char>(c));
    }
    ++i;
  }
  out.push('"');
}

void append_json_value(line_buffer& out, const field& f) {
  switch (f.type()) {
    case field::kind::string:
      append_json_string(out, f.text());
      break;
    case field::kind::signed_integer:
      append_number(out, f.signed_value());
      break;
    case field::kind::unsigned_integer:
      append_number(out, f.unsigned_value());
      break;
    case field::kind::floating: {
      auto value = f.floating_value();
      // JSON has no NaN or infinity.
      if (!std::isfinite(value))
        out.append("null");
      else
        append_number(out, value);
      break;
    }
    case field::kind::boolean:
      out.append(f.boolean_value() ? "true" : "false");
      break;
  }
}

void format_json(line_buffer& out, level lvl, const source& from, std::string_view message,
                 std::initializer_list<field> fields) {
  out.append("{\"ts\":\"");
  append_timestamp(out);
  out.append("\",\"level\":\"");
  out.append(name_of(lvl));
  out.append("\",\"component\":");
  append_json_string(out, from.component);
  out.append(",\"msg\":");
  append_json_string(out, message);
  if (from.port != 0) {
    out.append(",\"port\":");
    append_number(out, from.port);
  }
  for (auto& f : fields) {
    out.push(',');
    append_json_string(out, f.key());
    out.push(':');
    append_json_value(out, f);
  }
  out.append("}\n");
}

/// Hands the line to the kernel in one write(2): the kernel keeps lines of
/// concurrent writers apart (on a pipe up to PIPE_BUF bytes, on a file
/// opened for appending and a terminal whole). Best effort: there is nowhere
/// to report a failing stderr. errno is left as the caller had it.
void write_line(std::string_view line) {
  int saved = errno;
  std::size_t written = 0;
  while (written < line.size()) {
    auto n = ::write(STDERR_FILENO, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    written += static_cast<std::size_t>(n);
  }
  errno = saved;
}

} // namespace

void set_level(level lvl) {
  min_level.store(static_cast<int>(lvl), std::memory_order_relaxed);
}

bool parse_level(std::string_view text, level& out) {
  if (text == "debug")
    out = level::debug;
  else if (text == "info")
    out = level::info;
  else if (text == "warn")
    out = level::warn;
  else if (text == "error")
    out = level::error;
  else
    return false;
  return true;
}

void set_format(format fmt) {
  line_format.store(fmt, std::memory_order_relaxed);
}

bool parse_format(std::string_view text, format& out) {
  if (text == "text")
    out = format::text;
  else if (text == "json")
    out = format::json;
  else
    return false;
  return true;
}

bool enabled(level lvl) {
  return static_cast<int>(lvl) >= min_level.load(std::memory_order_relaxed);
}

void write(level lvl, const source& from, std::string_view message,
           std::initializer_list<field> fields) {
  line_buffer line;
  if (line_format.load(std::memory_order_relaxed) == format::json)
    format_json(line, lvl, from, message, fields);
  else
    format_text(line, lvl, from, message, fields);
  write_line(line.view());
}

} // namespace corral::log
