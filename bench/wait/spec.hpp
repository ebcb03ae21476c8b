// The wait workload: n concurrent random waits (asyncio's wait_random / wait_n / measure_time).
//
// wait_random(max_delay) waits a delay drawn uniformly from [0, max_delay] (whole microseconds)
// by one seeded generator that every model shares; wait_n(n, max_delay) runs n of them at once and
// logs each delay as it completes, so the log is the delays in completion order. The check:
// exactly n completions whose multiset of delays equals the generated one. The latency of a wait
// is its lateness: when it woke minus when it asked to wake. Items are waits.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/harness/cell.hpp"
#include "bench/harness/measure.hpp"

namespace cmbench::wait {

using clock = std::chrono::steady_clock;

struct spec {
  std::uint64_t n;
  std::uint64_t max_delay_ms;
  std::uint64_t seed = 20260101;
};

struct problem {
  spec s;
  std::vector<std::uint32_t> delays_us;  // wait i waits delays_us[i]
};
problem make_problem(const spec& s);

// Where the waits report, in completion order. One atomic increment per completion.
class completion_log {
 public:
  explicit completion_log(std::uint64_t n) : delays_us_(n), lateness_ns_(n) {}
  void complete(std::uint32_t delay_us, std::int64_t lateness_ns) noexcept {
    const std::uint64_t at = count_.fetch_add(1, std::memory_order_relaxed);
    if (at < delays_us_.size()) {
      delays_us_[at] = delay_us;
      lateness_ns_[at] = lateness_ns;
    }
  }
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_acquire); }
  const std::vector<std::uint32_t>& delays_us() const noexcept { return delays_us_; }
  const std::vector<std::int64_t>& lateness_ns() const noexcept { return lateness_ns_; }

 private:
  std::atomic<std::uint64_t> count_{0};
  std::vector<std::uint32_t> delays_us_;
  std::vector<std::int64_t> lateness_ns_;
};

// Measures one wait the same way in every model: the deadline is fixed when the wait starts.
inline clock::time_point deadline_after(std::uint32_t delay_us) {
  return clock::now() + std::chrono::microseconds(delay_us);
}
inline std::int64_t lateness_since(clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - deadline).count();
}

// wait_random for every model that can block its unit in a call: the same start, deadline,
// lateness and report everywhere; only how the unit sleeps differs. (coro.cpp spells out the
// same steps around a co_await.)
template <class SleepUntil>
void wait_random(std::uint32_t delay_us, completion_log& log, memory_probe& probe,
                 SleepUntil&& sleep_until) {
  probe.unit_started();
  const auto deadline = deadline_after(delay_us);
  sleep_until(deadline);
  log.complete(delay_us, lateness_since(deadline));
  probe.unit_finished();
}

// Compares a run's log with the problem; fills the lateness histogram.
check_result check(const problem& p, const completion_log& log, latency_histogram& lat);

// A model's implementation: its runtime lives as long as the object (one benchmark run).
class model {
 public:
  virtual ~model() = default;
  virtual void run(const problem& p, completion_log& log, memory_probe& probe) = 0;
};

std::unique_ptr<model> make_sync(const cell_env& env);
std::unique_ptr<model> make_threads(const cell_env& env);
std::unique_ptr<model> make_tbb(const cell_env& env);
std::unique_ptr<model> make_tbb_blocking(const cell_env& env);
std::unique_ptr<model> make_fibers(const cell_env& env);
std::unique_ptr<model> make_coro(const cell_env& env);

std::vector<cell> cells(const cell_env& env);

}  // namespace cmbench::wait
