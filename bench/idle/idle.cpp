// The idle workload's check, memory sweep and cells; the models are in the files named after them.
#include <malloc.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "bench/harness/fit.hpp"
#include "bench/harness/heap_counter.hpp"
#include "bench/idle/spec.hpp"
#include "models/fibers/fiber_pool.hpp"
#include "models/tbb/suspend_budget.hpp"
#include "models/threads/thread_budget.hpp"

namespace cmbench::idle {

check_result check(const idle_log& log, latency_histogram& lat) {
  check_result r;
  r.units = log.started();
  r.items = log.resumed_count();
  const std::uint64_t n = log.size();
  if (r.units != n) {
    r.error = std::to_string(r.units) + " units started, expected " + std::to_string(n);
  } else if (r.items != n) {
    r.error = std::to_string(r.items) + " resumptions, expected " + std::to_string(n);
  } else {
    for (std::uint64_t u = 0; u < n; ++u) {
      const std::int64_t at = log.resumed_at_ns()[u];
      if (at == 0) r.error = "unit " + std::to_string(u) + " never resumed";
      if (at < log.release_ns())
        r.error = "unit " + std::to_string(u) + " resumed before the event was set";
      if (!r.error.empty()) return r;
    }
    for (std::int64_t at : log.resumed_at_ns()) lat.record(at - log.release_ns());
  }
  return r;
}

namespace {

using maker = std::unique_ptr<model> (*)(const cell_env&, const spec&);

struct iteration {
  iteration(model& m, const spec& s) : m(m), s(s) {}
  model& m;
  const spec s;
  std::unique_ptr<idle_log> log;

  void warm_up() {
    memory_probe off;
    idle_log tiny(std::min<std::uint64_t>(s.units, 16));
    m.run(tiny, off);
  }
  void prepare() { log = std::make_unique<idle_log>(s.units); }
  void execute(memory_probe& probe) { m.run(*log, probe); }
  check_result check(latency_histogram& lat) { return idle::check(*log, lat); }

  // N/4, N/2, 3N/4, N parked units, in that order; memory where all are parked, fitted over N.
  // Growing sizes: what a runtime caches from a smaller run (coroutine frames, fiber stacks,
  // thread stacks) is in use again at the next peak, so every point counts it once.
  memory_figures measure_memory() {
    warm_up();
    std::vector<double> units, resident, mapped, heap;
    memory_figures fig;
    const bool heap_known = heap_counter::available();  // false under the sanitizers
    for (std::uint64_t quarter = 1; quarter <= 4; ++quarter) {
      const std::uint64_t n = std::max<std::uint64_t>(1, s.units * quarter / 4);
      // Each point starts from a trimmed heap: memory that malloc keeps resident after the
      // previous point freed it is no unit's cost. Without it idle/coro at a million units read
      // 122.6 B resident against 112.2 B of heap per unit; with it 112.2 B and 112.2 B. Runtime
      // caches (fiber stacks, recycled frames) are not malloc's free memory and stay.
      ::malloc_trim(0);
      // The run's log grows with N too (8 bytes a unit) and is the harness's, not the model's:
      // what allocating it took is measured here and left out of the points.
      const memory_probe::peak_mark without_log = memory_probe::read();
      idle_log sweep_log(n);
      const memory_probe::peak_mark with_log = memory_probe::read();
      memory_probe probe;
      probe.start();
      m.run(sweep_log, probe);
      probe.stop();
      latency_histogram ignored;
      const check_result c = idle::check(sweep_log, ignored);
      if (!c.error.empty())
        throw std::runtime_error("memory sweep at " + std::to_string(n) + " units: " + c.error);
      if (!probe.marked()) throw std::logic_error("idle model did not mark its peak");
      const memory_probe::peak_mark& at = *probe.marked();
      const auto less_log = [&](auto read) {  // read: the figure of a peak_mark
        return static_cast<double>(read(at)) -
               (static_cast<double>(read(with_log)) - static_cast<double>(read(without_log)));
      };
      using mark = memory_probe::peak_mark;
      units.push_back(static_cast<double>(n));
      resident.push_back(less_log([](const mark& m) { return m.memory.resident_bytes; }));
      mapped.push_back(less_log([](const mark& m) { return m.memory.virtual_bytes; }));
      heap.push_back(less_log([](const mark& m) { return m.live_heap_bytes; }));
      fig.peak_live = probe.peak_live();
      fig.rss_growth = probe.peak_growth_bytes();
      fig.units = c.units;
    }
    const auto rss = least_squares(units, resident);
    const auto vm = least_squares(units, mapped);
    if (rss) fig.rss_per_task = rss->slope;
    if (rss && vm) fig.reserved_per_task = std::max(0.0, vm->slope - rss->slope);
    if (heap_known) {
      if (const auto h = least_squares(units, heap)) fig.heap_per_task = h->slope;
    }
    return fig;
  }
};

cell make_cell(const cell_env& env, const char* name, maker make, const spec& s) {
  std::vector<std::pair<std::string, param_value>> params = {{"units", s.units}};
  if (s.stack_kib != 0) params.emplace_back("stack_kib", s.stack_kib);
  return cmbench::make_cell<iteration>(
      "idle", name, std::move(params), env, [make, s](const cell_env& e) { return make(e, s); }, s);
}

}  // namespace

std::vector<cell> cells(const cell_env& env) {
  std::vector<cell> out;
  // Every model at one common size, the largest that threads and tbb reach (each of their parked
  // units holds a whole stack), so that one table compares all five at the same N.
  const std::uint64_t common = env.prof.idle_thread_units;
  const std::uint64_t thread_n = std::min(common, env.max_threads);
  out.push_back(make_cell(env, "sync", make_sync, spec{common}));
  cell threads = make_cell(env, "threads", make_threads, spec{thread_n});
  threads.skip_reason = threads_model::thread_budget_refusal(thread_n, env.max_threads);
  out.push_back(std::move(threads));
  cell tbb = make_cell(env, "tbb", make_tbb, spec{common});
  tbb.skip_reason = tbb_model::suspend_budget_refusal(common);
  out.push_back(std::move(tbb));
  // Fibers with the pool's default stack only, what a fiber costs untuned: how far the stack can
  // shrink is a question about fibers alone, answered at the large size below, and asking it
  // here too would lengthen every run.
  out.push_back(
      make_cell(env, "fibers", make_fibers, spec{common, fibers::default_stack_bytes / 1024}));
  out.push_back(make_cell(env, "coro", make_coro, spec{common}));
  // The models that scale again at the large size, to show what they reach. These ask what a
  // parked unit costs at that scale, which the worker count does not change, so the full profile
  // runs them at --workers only (the common size above shows 1 and 2 workers): each fiber cell at
  // a million first-touches a million stacks, 50-90 s on a VM whose page faults cost 20 us.
  const std::uint64_t n = env.prof.idle_units;
  if (n == common) return out;
  const auto large = [&out](cell c) {
    c.at_all_workers_only = true;
    out.push_back(std::move(c));
  };
  large(make_cell(env, "sync", make_sync, spec{n}));
  for (std::uint64_t kib : env.prof.idle_fiber_stacks_kib)
    large(make_cell(env, "fibers", make_fibers, spec{n, kib}));
  large(make_cell(env, "coro", make_coro, spec{n}));
  return out;
}

}  // namespace cmbench::idle
