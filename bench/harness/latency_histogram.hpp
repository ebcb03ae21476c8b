// Log-bucketed latency histogram (<= 1/32 relative error) and a sharded per-worker recorder.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace cmbench {

// Hand-written: Debian 12 packages HdrHistogram only for Go/Java; Boost.Histogram has no quantiles.
// Scheme (HdrHistogram-style, 5 sub-bucket bits):
//   values below 64 have one bucket each (exact);
//   [2^e, 2^(e+1)) for e >= 6 is split into 32 linear sub-buckets of width 2^(e-5).
// index(v) = s*32 + (v >> s) with s = max(bit_width(v), 6) - 6: 1920 buckets cover all of uint64,
// 15 KiB of counts. A bucket's width over its lowest value is <= 1/32, so any value reported
// for a bucket is within 1/32 of every sample in it.
class latency_histogram {
 public:
  static constexpr unsigned kSubBucketBits = 5;
  static constexpr std::uint64_t kSubBuckets = std::uint64_t{1} << kSubBucketBits;  // 32
  static constexpr std::size_t kBuckets = (64 - kSubBucketBits) * kSubBuckets + kSubBuckets;
  static constexpr double kRelativeError = 1.0 / kSubBuckets;

  static std::size_t bucket_index(std::uint64_t ns) noexcept {
    const unsigned shift = std::max(static_cast<unsigned>(std::bit_width(ns)), kSubBucketBits + 1) -
                           (kSubBucketBits + 1);
    return (std::size_t{shift} << kSubBucketBits) + static_cast<std::size_t>(ns >> shift);
  }
  // Highest value that falls into bucket `index` (the value reported for it).
  static std::uint64_t bucket_upper_bound(std::size_t index) noexcept;

  // Inline and allocation-free; not thread-safe: one writer.
  void record(std::uint64_t ns) noexcept {
    ++counts_[bucket_index(ns)];
    ++count_;
    min_ = std::min(min_, ns);
    max_ = std::max(max_, ns);
  }
  void merge(const latency_histogram& other) noexcept;

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t min() const noexcept { return count_ == 0 ? 0 : min_; }  // exact; 0 when empty
  std::uint64_t max() const noexcept { return max_; }                    // exact; 0 when empty
  // Value at quantile q in [0,1] (0.5 = p50, 0.999 = p999): the upper bound of the bucket holding
  // the ceil(q*count)-th smallest sample (at least the 1st), clamped to [min(), max()]; 0 if empty.
  std::uint64_t percentile(double q) const noexcept;

 private:
  // The fields every record() writes come first, so the cold tail of the counts is what borders
  // the next shard in latency_recorder.
  std::uint64_t count_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
  std::array<std::uint64_t, kBuckets> counts_{};
};

// Per-worker shards merged at the end. Each shard has exactly one writer at a time, so record() is
// a plain increment: no atomics, and shards are 64-byte aligned so no two share a cache line.
class latency_recorder {
 public:
  explicit latency_recorder(unsigned shards);  // throws std::invalid_argument for 0 shards
  void record(unsigned shard, std::uint64_t ns) noexcept { shards_[shard].h.record(ns); }
  latency_histogram merged() const;  // call once the writers are done (joined)
  unsigned shards() const noexcept { return static_cast<unsigned>(shards_.size()); }

 private:
  struct alignas(64) shard {
    latency_histogram h;
  };
  std::vector<shard> shards_;  // over-aligned type: allocated with aligned operator new
};

}  // namespace cmbench
