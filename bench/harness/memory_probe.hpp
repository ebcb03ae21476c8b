// memory_probe: finds a run's peak of live units and the resident-set growth at that point.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>

#include "bench/harness/resident_memory.hpp"

namespace cmbench {

// Models call unit_started()/unit_finished() around each unit's body. Outside the untimed probe
// run the probe is inactive and each call is one predictable branch. While active, a unit that
// raises the live count past the next threshold (each 1/8 above the last sample) reads the
// resident set, so the sample with the most live units is taken within 1/8 of the true peak.
class memory_probe {
 public:
  void unit_started() noexcept {
    if (!active_.load(std::memory_order_relaxed)) return;
    const std::int64_t live = live_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (live >= next_sample_.load(std::memory_order_relaxed)) sample(live);
  }
  void unit_finished() noexcept {
    if (!active_.load(std::memory_order_relaxed)) return;
    live_.fetch_sub(1, std::memory_order_relaxed);
  }

  // A workload that knows when its concurrency peaks (every unit of a ring started, every idle
  // unit parked) says so: the resident set is sampled there whatever the thresholds, and the
  // process's memory at that moment is kept for marked().
  struct peak_mark {
    memory_usage memory;
    std::uint64_t live_heap_bytes;  // malloc's in-use bytes, all arenas and mmap'ed blocks
  };
  void at_peak();
  const std::optional<peak_mark>& marked() const noexcept { return marked_; }
  // The same reading, now (mallinfo2 walks every arena under its lock: not for a hot path).
  static peak_mark read();

  // Untimed probe run only: baseline taken here.
  void start();
  void stop() noexcept { active_.store(false, std::memory_order_relaxed); }

  std::int64_t peak_live() const noexcept { return peak_live_; }
  // Resident-set growth over the baseline at the sample with the most live units (>= 0).
  std::int64_t peak_growth_bytes() const noexcept { return peak_growth_; }

 private:
  void sample(std::int64_t live);

  std::atomic<bool> active_{false};
  alignas(64) std::atomic<std::int64_t> live_{0};
  alignas(64) std::atomic<std::int64_t> next_sample_{1};
  std::mutex sample_mutex_;
  std::int64_t baseline_ = 0;
  std::int64_t peak_live_ = 0;
  std::int64_t peak_growth_ = 0;
  std::optional<peak_mark> marked_;
};

}  // namespace cmbench
