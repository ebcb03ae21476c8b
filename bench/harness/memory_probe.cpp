#include "bench/harness/memory_probe.hpp"

#include <malloc.h>

#include <algorithm>

#include "bench/harness/resident_memory.hpp"

namespace cmbench {

void memory_probe::start() {
  live_.store(0, std::memory_order_relaxed);
  next_sample_.store(1, std::memory_order_relaxed);
  peak_live_ = 0;
  peak_growth_ = 0;
  marked_.reset();
  baseline_ = static_cast<std::int64_t>(resident_bytes());
  active_.store(true, std::memory_order_seq_cst);
}

void memory_probe::sample(std::int64_t live) {
  std::lock_guard lk(sample_mutex_);
  if (live < next_sample_.load(std::memory_order_relaxed)) return;  // another unit just sampled
  const std::int64_t rss = static_cast<std::int64_t>(resident_bytes());
  if (live > peak_live_) {
    peak_live_ = live;
    peak_growth_ = std::max<std::int64_t>(0, rss - baseline_);
  }
  next_sample_.store(live + std::max<std::int64_t>(1, live / 8), std::memory_order_relaxed);
}

memory_probe::peak_mark memory_probe::read() {
  const struct mallinfo2 heap = ::mallinfo2();
  return peak_mark{memory_now(), heap.uordblks + heap.hblkhd};
}

void memory_probe::at_peak() {
  if (!active_.load(std::memory_order_relaxed)) return;
  std::lock_guard lk(sample_mutex_);
  const std::int64_t live = live_.load(std::memory_order_relaxed);
  marked_ = read();
  if (live >= peak_live_) {
    peak_live_ = live;
    peak_growth_ = std::max<std::int64_t>(
        0, static_cast<std::int64_t>(marked_->memory.resident_bytes) - baseline_);
  }
}

}  // namespace cmbench
