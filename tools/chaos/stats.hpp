// Order statistics of measured times: the min / median / max the report shows.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

namespace corral::chaos {

/// The spread of a set of samples.
struct spread {
  std::size_t count = 0;
  double min = 0;
  double median = 0;
  double max = 0;
};

/// Summarizes `samples` (in any order); nullopt when there are none. The
/// median of an even count is the mean of the two middle samples.
std::optional<spread> summarize(std::vector<double> samples);

} // namespace corral::chaos
