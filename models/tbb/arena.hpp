// make_arena: the oneTBB arena a cell runs in, built per run with the suite's worker count.
#pragma once

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>

#include <memory>

namespace cmbench::tbb_model {

// An arena of `workers` slots; the benchmark thread calling execute() takes one of them, so
// `workers` threads do the work, as in the coro and fibers models. The global_control lets the
// market create that many threads even when the machine has fewer cores.
struct arena {
  explicit arena(unsigned workers)
      : limit(oneapi::tbb::global_control::max_allowed_parallelism, workers), slots(workers) {
    slots.initialize();
  }
  oneapi::tbb::global_control limit;
  oneapi::tbb::task_arena slots;
};

}  // namespace cmbench::tbb_model
