// cell: one (workload, model, parameters) combination, how to run it, and why it may be skipped.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
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

struct cell {
  std::string workload;
  std::string model;
  std::vector<std::pair<std::string, std::uint64_t>> params;
  std::optional<std::string> skip_reason;       // set: listed and reported, never run
  std::function<void(benchmark::State&)> body;  // builds the runtime, then measures

  // <workload>/<model>/<param>:<value>/...
  std::string name() const {
    std::string n = workload + "/" + model;
    for (const auto& [k, v] : params) n += "/" + k + ":" + std::to_string(v);
    return n;
  }
};

}  // namespace cmbench
