#include "bench/harness/latency_histogram.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace cmbench {

std::uint64_t latency_histogram::bucket_upper_bound(std::size_t index) noexcept {
  if (index < 2 * kSubBuckets) return index;  // exact range
  const unsigned shift = static_cast<unsigned>(index >> kSubBucketBits) - 1;
  const std::uint64_t lowest = (kSubBuckets + (index & (kSubBuckets - 1))) << shift;
  return lowest + ((std::uint64_t{1} << shift) - 1);  // last bucket ends at UINT64_MAX, no wrap
}

void latency_histogram::merge(const latency_histogram& other) noexcept {
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

std::uint64_t latency_histogram::percentile(double q) const noexcept {
  if (count_ == 0) return 0;
  std::uint64_t rank = 1;  // q <= 0 and NaN mean the smallest sample
  if (q >= 1.0) {
    rank = count_;
  } else if (q > 0.0) {
    rank = std::clamp<std::uint64_t>(
        static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))), 1, count_);
  }
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(bucket_upper_bound(i), min_, max_);
  }
  return max_;  // unreachable while the counts sum to count_
}

latency_recorder::latency_recorder(unsigned shards) : shards_(shards) {
  if (shards == 0) throw std::invalid_argument("latency_recorder: needs at least one shard");
}

latency_histogram latency_recorder::merged() const {
  latency_histogram all;
  for (const shard& s : shards_) all.merge(s.h);
  return all;
}

}  // namespace cmbench
