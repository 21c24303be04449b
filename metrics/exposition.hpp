// Writing the Prometheus text exposition format (0.0.4): families with HELP
// and TYPE, samples with escaped labels, histograms with cumulative buckets.
#pragma once

#include "metrics/instruments.hpp"

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace corral::metrics {

/// One label: name and (unescaped) value.
using label = std::pair<std::string_view, std::string_view>;

/// Builds one /metrics document. Families must be written whole, one after
/// another (a family's samples right after its header), as the format asks.
class exposition {
public:
  /// Starts a family: `# HELP` and `# TYPE` lines. `type` is counter,
  /// gauge or histogram.
  void family(std::string_view name, std::string_view type, std::string_view help);

  /// One sample of the current family.
  void sample(std::string_view name, std::initializer_list<label> labels, double value);
  void sample(std::string_view name, std::initializer_list<label> labels, uint64_t value);

  /// A whole histogram's samples (`_bucket` with `le`, `_sum`, `_count`)
  /// for `name` with `labels`, from a snapshot's non-cumulative buckets.
  void histogram(std::string_view name, std::initializer_list<label> labels,
                 const histogram_snapshot& h);

  /// The document so far.
  const std::string& text() const {
    return out_;
  }

private:
  void series(std::string_view name, std::initializer_list<label> labels,
              const label* extra = nullptr);

  std::string out_;
};

/// A number as Prometheus writes it: integers without a fraction, others
/// in the shortest form that reads back exactly, +Inf/-Inf/NaN by name.
std::string format_number(double value);

} // namespace corral::metrics
