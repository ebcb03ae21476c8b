// workload_models: what the per-workload model tests share: the smoke environment and a
// workload's factory by model name.
#pragma once

#include <string>

#include "bench/harness/cell.hpp"

namespace cmbench::test_support {

inline cell_env smoke_env(unsigned workers) {
  cell_env env;
  env.workers = workers;
  env.max_threads = 10000;
  env.prof = *find_profile("smoke");
  return env;
}

// The factory of `model` ("sync", "threads", "tbb", "fibers", "coro") among a workload's five.
// Maker is the workload's factory type, e.g. std::unique_ptr<ring::model> (*)(const cell_env&).
template <class Maker>
Maker model_factory(const std::string& model, Maker sync, Maker threads, Maker tbb, Maker fibers,
                    Maker coro) {
  return model == "sync"      ? sync
         : model == "threads" ? threads
         : model == "tbb"     ? tbb
         : model == "fibers"  ? fibers
                              : coro;
}

}  // namespace cmbench::test_support
