#include "bench/harness/suite.hpp"

#include "bench/echo/spec.hpp"
#include "bench/fib/spec.hpp"
#include "bench/idle/spec.hpp"
#include "bench/pipeline/spec.hpp"
#include "bench/ring/spec.hpp"
#include "bench/spawn/spec.hpp"
#include "bench/wait/spec.hpp"

namespace cmbench {

namespace {

using workload_cells = std::vector<cell> (*)(const cell_env&);
constexpr workload_cells catalogue[] = {wait::cells, spawn::cells, fib::cells, ring::cells,
                                        pipeline::cells, idle::cells, echo::cells};

// Cells swept over the worker counts: those of multi-worker models, except a cell that fixes its
// runtime at one worker (ring's handoff:same) or asks its question at --workers only (idle's
// large size).
bool sweeps_workers(const cell& c) {
  return has_workers(c.model) && !c.one_worker && !c.at_all_workers_only;
}

}  // namespace

std::vector<cell> all_cells(const cell_env& env) {
  std::vector<cell> out;
  for (workload_cells cells : catalogue) {
    if (!env.prof.sweep_workers) {
      for (cell& c : cells(env)) out.push_back(std::move(c));
      continue;
    }
    // Every multi-worker cell once per worker count from 1 to --workers, named workers:N.
    for (cell& c : cells(env))
      if (!sweeps_workers(c)) out.push_back(std::move(c));
    for (unsigned w = 1; w <= env.workers; ++w) {
      cell_env swept = env;
      swept.workers = w;
      for (cell& c : cells(swept)) {
        if (!sweeps_workers(c)) continue;
        c.params.emplace_back("workers", w);
        out.push_back(std::move(c));
      }
    }
  }
  return out;
}

}  // namespace cmbench
