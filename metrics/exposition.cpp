// The Prometheus text format's syntax: escaping, numbers, histograms.
#include "metrics/exposition.hpp"

#include <charconv>
#include <cmath>

namespace corral::metrics {

namespace {

/// Label values escape backslash, double quote and newline; HELP text
/// escapes backslash and newline.
void append_escaped(std::string& out, std::string_view text, bool quotes) {
  for (char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '"':
        if (quotes) {
          out += "\\\"";
          break;
        }
        [[fallthrough]];
      default:
        out += c;
    }
  }
}

} // namespace

std::string format_number(double value) {
  if (std::isnan(value))
    return "NaN";
  if (std::isinf(value))
    return value > 0 ? "+Inf" : "-Inf";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  if (ec != std::errc{})
    return "NaN";
  return std::string(buf, end);
}

void exposition::family(std::string_view name, std::string_view type,
                        std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  append_escaped(out_, help, false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void exposition::series(std::string_view name, std::initializer_list<label> labels,
                        const label* extra) {
  out_ += name;
  if (labels.size() == 0 && extra == nullptr)
    return;
  out_ += '{';
  bool first = true;
  auto put = [&](const label& l) {
    if (!first)
      out_ += ',';
    first = false;
    out_ += l.first;
    out_ += "=\"";
    append_escaped(out_, l.second, true);
    out_ += '"';
  };
  for (auto& l : labels)
    put(l);
  if (extra != nullptr)
    put(*extra);
  out_ += '}';
}

void exposition::sample(std::string_view name, std::initializer_list<label> labels,
                        double value) {
  series(name, labels);
  out_ += ' ';
  out_ += format_number(value);
  out_ += '\n';
}

void exposition::sample(std::string_view name, std::initializer_list<label> labels,
                        uint64_t value) {
  series(name, labels);
  out_ += ' ';
  out_ += std::to_string(value);
  out_ += '\n';
}

void exposition::histogram(std::string_view name, std::initializer_list<label> labels,
                           const histogram_snapshot& h) {
  std::string bucket{name};
  bucket += "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.buckets.size(); ++i) {
    cumulative += h.buckets[i];
    auto le = i < h.bounds.size() ? format_number(h.bounds[i]) : std::string{"+Inf"};
    label extra{"le", le};
    series(bucket, labels, &extra);
    out_ += ' ';
    out_ += std::to_string(cumulative);
    out_ += '\n';
  }
  sample(std::string{name} + "_sum", labels, h.sum);
  // _count equals the +Inf bucket, as the format requires.
  sample(std::string{name} + "_count", labels, cumulative);
}

} // namespace corral::metrics
