// Reading histograms: merging snapshots and estimating quantiles.
#include "metrics/instruments.hpp"

#include <algorithm>

namespace corral::metrics {

histogram_snapshot& histogram_snapshot::operator+=(const histogram_snapshot& other) {
  if (buckets.empty()) {
    *this = other;
    return *this;
  }
  auto n = std::min(buckets.size(), other.buckets.size());
  for (size_t i = 0; i < n; ++i)
    buckets[i] += other.buckets[i];
  sum += other.sum;
  count += other.count;
  return *this;
}

double histogram_snapshot::quantile(double q) const {
  if (count == 0 || bounds.empty())
    return 0;
  auto rank = q * static_cast<double>(count);
  uint64_t below = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    auto upto = below + buckets[i];
    if (static_cast<double>(upto) >= rank && buckets[i] > 0) {
      if (i == bounds.size())
        return bounds.back(); // +Inf: the highest finite bound, as Prometheus
      double lower = i == 0 ? 0 : bounds[i - 1];
      double upper = bounds[i];
      double within = (rank - static_cast<double>(below)) / static_cast<double>(buckets[i]);
      return lower + (upper - lower) * std::clamp(within, 0.0, 1.0);
    }
    below = upto;
  }
  return bounds.back();
}

} // namespace corral::metrics
