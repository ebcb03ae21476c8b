#include "bench/harness/measure.hpp"

#include <atomic>

namespace cmbench {

namespace {
std::atomic<int> failures{0};
}

void fail_cell(benchmark::State& state, const std::string& what) {
  failures.fetch_add(1, std::memory_order_relaxed);
  state.SkipWithError(what.c_str());
}

int failed_cells() noexcept {
  return failures.load(std::memory_order_relaxed);
}

void report_counters(benchmark::State& state, const memory_figures& mem, std::uint64_t units,
                     const latency_histogram& lat, const timed_totals& timed) {
  using benchmark::Counter;
  state.counters["tasks"] = Counter(static_cast<double>(units));
  state.counters["peak_live"] = Counter(static_cast<double>(mem.peak_live));
  state.counters["rss_growth_B"] = Counter(static_cast<double>(mem.rss_growth));
  // Resident memory moves in 4 KiB pages: over a handful of live units a page would read as
  // kilobytes per task, so the quotient is reported only where it means something.
  if (mem.rss_per_task)
    state.counters["rss_per_task_B"] = Counter(*mem.rss_per_task);
  else if (mem.peak_live >= min_live_for_rss_per_task)
    state.counters["rss_per_task_B"] =
        Counter(static_cast<double>(mem.rss_growth) / static_cast<double>(mem.peak_live));
  if (mem.reserved_per_task) state.counters["reserved_per_task_B"] = Counter(*mem.reserved_per_task);
  if (mem.heap_per_task)
    state.counters["heap_per_task_B"] = Counter(*mem.heap_per_task);
  else if (mem.heap_bytes && units > 0)
    state.counters["heap_per_task_B"] =
        Counter(static_cast<double>(*mem.heap_bytes) / static_cast<double>(units));
  if (units > 0 && state.iterations() > 0)
    state.counters["per_task_ns"] = Counter(
        timed.wall_s * 1e9 / static_cast<double>(state.iterations()) / static_cast<double>(units));
  if (timed.wall_s > 0) state.counters["cpu_util"] = Counter(timed.cpu_s / timed.wall_s);
  if (timed.others_cpu) state.counters["others_cpu"] = Counter(*timed.others_cpu);
  if (lat.count() > 0) {
    state.counters["lat_p50_ns"] = Counter(static_cast<double>(lat.percentile(0.50)));
    state.counters["lat_p99_ns"] = Counter(static_cast<double>(lat.percentile(0.99)));
    state.counters["lat_p999_ns"] = Counter(static_cast<double>(lat.percentile(0.999)));
    state.counters["lat_max_ns"] = Counter(static_cast<double>(lat.max()));
  }
}

}  // namespace cmbench
