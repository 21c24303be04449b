// Order statistics of measured times (see stats.hpp).
#include "tools/chaos/stats.hpp"

#include <algorithm>

namespace corral::chaos {

std::optional<spread> summarize(std::vector<double> samples) {
  if (samples.empty())
    return std::nullopt;
  std::sort(samples.begin(), samples.end());
  auto n = samples.size();
  auto median = n % 2 == 1 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
  return spread{n, samples.front(), median, samples.back()};
}

} // namespace corral::chaos
