// cell: one (workload, model, parameters) combination, how to run it, and why it may be skipped.
#pragma once

#include <benchmark/benchmark.h>

#include <concepts>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench/harness/profile.hpp"

namespace cmbench {

// What every cell's runtime is built from.
struct cell_env {
  unsigned workers = 1;
  std::uint64_t max_threads = 10000;
  profile prof;
};

// A parameter's value: a whole number (a size, a count) or a word naming a variant of the problem
// (ring's handoff:same).
class param_value {
 public:
  template <std::integral T>
  param_value(T number) : number_(static_cast<std::uint64_t>(number)) {}  // NOLINT: implicit
  param_value(const char* word) : word_(word) {}                          // NOLINT: implicit
  bool is_number() const noexcept { return word_.empty(); }
  std::uint64_t number() const noexcept { return number_; }
  std::string text() const { return is_number() ? std::to_string(number_) : word_; }
  bool operator==(const param_value&) const = default;

 private:
  std::uint64_t number_ = 0;
  std::string word_;
};

struct cell {
  std::string workload;
  std::string model;
  std::vector<std::pair<std::string, param_value>> params;
  std::optional<std::string> skip_reason;  // set: listed and reported, never run
  bool one_worker = false;  // its runtime runs on one worker whatever --workers says: not swept
  // A question about memory at scale, not about scaling (idle's large size): in a profile that
  // sweeps worker counts, run once, at --workers.
  bool at_all_workers_only = false;
  std::function<void(benchmark::State&)> body;  // builds the runtime, then measures
  // Compute cells only (compute_cell()): the cores the model keeps busy when the machine gives it
  // them. A run whose cpu_util falls well short of it while other processes took cores was
  // starved, and scripts/bench marks it (scripts/lib/run_suite.py).
  std::optional<double> busy_cores;

  // <workload>/<model>/<param>:<value>/...
  std::string name() const {
    std::string n = workload + "/" + model;
    for (const auto& [k, v] : params) n += "/" + k + ":" + v.text();
    return n;
  }
};

// Models whose runtime runs on cell_env::workers threads; sync and threads have no worker count.
inline bool has_workers(std::string_view model) {
  return model != "sync" && model != "threads";
}

// Marks c as a compute cell (one that never waits on a clock or a peer): sets its busy_cores from
// its model and the worker count it was built for.
inline cell compute_cell(cell c, const cell_env& env) {
  if (has_workers(c.model))
    c.busy_cores = env.workers;
  else if (c.model == "sync")
    c.busy_cores = 1;
  // threads: none. A thread per unit blocks in join and clone; its idle cores are its own cost.
  return c;
}

}  // namespace cmbench
