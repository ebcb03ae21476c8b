// The idle workload: memory per waiting task. N units start and park at once on one event; the
// last one to park sets the event, which releases them all; every unit must then resume exactly
// once, after the release. The memory figures are per parked unit with the runtime's fixed cost
// removed: each cell runs N/4, N/2, 3N/4 and N units once, untimed, reads the process's memory
// where all units are parked (memory_probe::at_peak), less what the run's own log took (8 bytes
// a unit, the harness's), and reports least-squares slopes over N:
//   rss_per_task_B       resident set;
//   heap_per_task_B      live malloc heap (glibc's mallinfo2: in-use bytes, mmap'ed blocks too);
//   reserved_per_task_B  address space mapped but not resident (thread and fiber stacks).
// The timed runs park and release N units; latency is each unit's resumption after the release.
// Units are the parked units; items are units.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "bench/harness/cell.hpp"
#include "bench/harness/measure.hpp"

namespace cmbench::idle {

using clock = std::chrono::steady_clock;

struct spec {
  std::uint64_t units;
  std::uint64_t stack_kib = 0;  // fibers: the stack size of each fiber (0: the pool's default)
};

// What a run's units report. Each slot is written by one unit only.
class idle_log {
 public:
  explicit idle_log(std::uint64_t units) : resumed_at_ns_(units, 0) {}

  std::uint64_t size() const noexcept { return resumed_at_ns_.size(); }
  void unit_started() noexcept { started_.fetch_add(1, std::memory_order_relaxed); }
  // A unit calls this when it has registered as a waiter, just before it waits. The unit that
  // makes the count reach N gets true: it must call probe.at_peak() and released(), then set the
  // event.
  bool last_to_park() noexcept {
    return parked_.fetch_add(1, std::memory_order_acq_rel) + 1 == size();
  }
  void released() noexcept { release_ns_ = now_ns(); }
  void resumed(std::uint64_t unit) noexcept {
    resumed_at_ns_[unit] = now_ns();
    resumed_.fetch_add(1, std::memory_order_relaxed);
  }

  std::uint64_t started() const noexcept { return started_.load(std::memory_order_acquire); }
  std::uint64_t resumed_count() const noexcept { return resumed_.load(std::memory_order_acquire); }
  std::int64_t release_ns() const noexcept { return release_ns_; }
  const std::vector<std::int64_t>& resumed_at_ns() const noexcept { return resumed_at_ns_; }

 private:
  static std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch())
        .count();
  }
  std::atomic<std::uint64_t> started_{0};
  std::atomic<std::uint64_t> parked_{0};
  std::atomic<std::uint64_t> resumed_{0};
  std::int64_t release_ns_ = 0;
  std::vector<std::int64_t> resumed_at_ns_;
};

// Every unit started, parked, and resumed once after the release; resumption latencies to `lat`.
check_result check(const idle_log& log, latency_histogram& lat);

class model {
 public:
  virtual ~model() = default;
  // Starts log.size() units that park on one event, as the spec above says; returns when every
  // unit has finished.
  virtual void run(idle_log& log, memory_probe& probe) = 0;
};

std::unique_ptr<model> make_sync(const cell_env& env, const spec& s);
std::unique_ptr<model> make_threads(const cell_env& env, const spec& s);
std::unique_ptr<model> make_tbb(const cell_env& env, const spec& s);
std::unique_ptr<model> make_fibers(const cell_env& env, const spec& s);
std::unique_ptr<model> make_coro(const cell_env& env, const spec& s);

std::vector<cell> cells(const cell_env& env);

}  // namespace cmbench::idle
