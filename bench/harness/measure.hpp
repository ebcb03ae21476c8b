// measure: the loop every cell shares: one untimed probe run for memory, then timed, checked runs.
#pragma once

#include <benchmark/benchmark.h>
#include <time.h>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "bench/harness/cell.hpp"
#include "bench/harness/heap_counter.hpp"
#include "bench/harness/instructions.hpp"
#include "bench/harness/latency_histogram.hpp"
#include "bench/harness/machine_cpu.hpp"
#include "bench/harness/memory_probe.hpp"

namespace cmbench {

// What a workload's check found in one run.
struct check_result {
  std::string error;        // empty: the run matched the reference
  std::uint64_t units = 0;  // concurrent units the run really created
  std::uint64_t items = 0;  // operations, for items_per_second
  double clocked_s = 0;     // time the workload clocked itself inside execute(), if it does
};

// One iteration of a cell: prepare() and check() are untimed, execute() is the measured region.
// check() adds the run's per-operation latencies (if the workload defines any) to the histogram.
// warm_up() runs the model once on a tiny problem, so that the memory probe does not count what a
// runtime sets up on first use (oneTBB starts its workers at the first execute(), stack caches
// fill). It must stay tiny: a full-size run would leave freed memory for the probe run to reuse.
template <class T>
concept iteration = requires(T it, memory_probe& probe, latency_histogram& lat) {
  it.warm_up();
  it.prepare();
  it.execute(probe);
  { it.check(lat) } -> std::same_as<check_result>;
};

// Memory figures of a cell, measured once per process: Google Benchmark calls a cell's function
// several times (to size the iteration count, and once per repetition), and every call after the
// first would find memory the earlier calls freed, so only the first call's probe run is honest.
// Below this many live units at the peak, rss_per_task_B is not reported (page granularity).
inline constexpr std::int64_t min_live_for_rss_per_task = 64;

struct memory_figures {
  std::int64_t peak_live = 0;
  std::int64_t rss_growth = 0;
  std::optional<std::uint64_t> heap_bytes;  // absent where the heap counter is compiled out
  std::uint64_t units = 0;
  // Per-unit figures fitted over several problem sizes (idle), reported instead of the quotients
  // above; reserved_per_task is address space each unit maps but does not touch.
  std::optional<double> rss_per_task;
  std::optional<double> heap_per_task;
  std::optional<double> reserved_per_task;
};

// Marks the cell failed (SkipWithError) and remembers it for the process's exit status.
void fail_cell(benchmark::State& state, const std::string& what);
int failed_cells() noexcept;

struct timed_totals {
  double wall_s = 0;     // the measured regions, summed over iterations
  double cpu_s = 0;      // process CPU time (all threads) over the same regions
  double clocked_s = 0;  // check_result::clocked_s, summed over iterations
  std::uint64_t items = 0;
  // Cores other processes kept busy over the whole loop, untimed parts included (machine_cpu.hpp);
  // absent when the loop was too short to tell.
  std::optional<double> others_cpu;
};

// Optional parts of an iteration. `clocked_counter`: the name under which the time the workload
// clocked itself is reported per item (ring's switch_ns: the hops alone, without creating the
// units). report(): counters of the workload's own, added after the timed runs (fib's efficiency).
template <class T>
concept clocks_itself = requires {
  T::clocked_counter;
};
// measure_memory(): the iteration measures its memory figures itself, replacing the probe run.
template <class T>
concept measures_memory = requires(T it) {
  { it.measure_memory() } -> std::same_as<memory_figures>;
};
template <class T>
concept reports_counters = requires(T it, benchmark::State& state, const timed_totals& timed) {
  it.report(state, timed);
};

void report_counters(benchmark::State& state, const memory_figures& mem, std::uint64_t units,
                     const latency_histogram& lat, const timed_totals& timed);

// Process CPU time: every thread of every model, so spinning idle workers show.
inline double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

template <iteration Iteration>
void measure(benchmark::State& state, Iteration& it,
             std::shared_ptr<std::optional<memory_figures>> memory) {
  if constexpr (measures_memory<Iteration>) {
    if (!*memory) *memory = it.measure_memory();
  }
  if (!*memory) {
    memory_probe probe;
    latency_histogram ignored;
    it.warm_up();
    it.prepare();
    const bool counting = heap_counter::available();
    if (counting) heap_counter::start();
    probe.start();
    it.execute(probe);
    probe.stop();
    const auto heap = counting ? heap_counter::stop() : heap_counter::totals{};
    const check_result c = it.check(ignored);
    if (!c.error.empty()) return fail_cell(state, "probe run: " + c.error);
    memory_figures m;
    m.peak_live = probe.peak_live();
    m.rss_growth = probe.peak_growth_bytes();
    if (counting) m.heap_bytes = heap.bytes;
    m.units = c.units;
    *memory = m;
  }

  memory_probe inactive;
  latency_histogram lat;
  timed_totals timed;
  // The machine's clock opens the span first and closes it last, so that it encloses ours; the
  // span is the whole loop, since neither clock can leave out the untimed prepare() and check().
  const std::optional<double> machine_busy0 = machine_busy_seconds();
  const double own_cpu0 = process_cpu_seconds();
  const auto span0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    state.PauseTiming();
    it.prepare();
    state.ResumeTiming();
    // The CPU clock is read outside the wall-clock window, which is the reported time; the
    // instruction-count markers outside both.
    measured_region_begin();
    const double cpu0 = process_cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    it.execute(inactive);
    const auto t1 = std::chrono::steady_clock::now();
    const double cpu1 = process_cpu_seconds();
    measured_region_end();
    const double seconds = std::chrono::duration<double>(t1 - t0).count();
    state.SetIterationTime(seconds);
    timed.wall_s += seconds;
    timed.cpu_s += cpu1 - cpu0;
    state.PauseTiming();
    const check_result c = it.check(lat);
    if (c.error.empty() && c.units != (*memory)->units)
      return fail_cell(state, "created " + std::to_string(c.units) + " units, the probe run " +
                                  std::to_string((*memory)->units));
    if (!c.error.empty()) return fail_cell(state, c.error);
    timed.items += c.items;
    timed.clocked_s += c.clocked_s;
    state.ResumeTiming();
  }
  const auto span1 = std::chrono::steady_clock::now();
  const double own_cpu1 = process_cpu_seconds();
  const std::optional<double> machine_busy1 = machine_busy_seconds();
  if (machine_busy0 && machine_busy1)
    timed.others_cpu = others_cores(*machine_busy1 - *machine_busy0, own_cpu1 - own_cpu0,
                                    std::chrono::duration<double>(span1 - span0).count());
  state.SetItemsProcessed(static_cast<std::int64_t>(timed.items));
  report_counters(state, **memory, (*memory)->units, lat, timed);
  if constexpr (clocks_itself<Iteration>) {
    if (timed.items > 0)
      state.counters[Iteration::clocked_counter] =
          benchmark::Counter(timed.clocked_s * 1e9 / static_cast<double>(timed.items));
  }
  if constexpr (reports_counters<Iteration>) it.report(state, timed);
}

// A cell of a workload: Iteration is built from (Model&, const Spec&) and the model from the
// environment, both inside the cell's body, so every run gets a fresh runtime.
// `make` is any callable taking the cell_env and returning a std::unique_ptr to the model.
template <class Iteration, class Make, class Spec>
cell make_cell(const char* workload, const char* model_name,
               std::vector<std::pair<std::string, param_value>> params, const cell_env& env,
               Make make, const Spec& s) {
  cell c;
  c.workload = workload;
  c.model = model_name;
  c.params = std::move(params);
  auto memory = std::make_shared<std::optional<memory_figures>>();
  c.body = [env, make, s, memory](benchmark::State& state) {
    auto m = make(env);
    Iteration it(*m, s);
    measure(state, it, memory);
  };
  return c;
}

}  // namespace cmbench
