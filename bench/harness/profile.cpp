#include "bench/harness/profile.hpp"

namespace cmbench {

namespace {
// Budgets: quick runs in under a minute on 2 cores, calibration included, smoke in seconds, full
// in minutes (scripts/bench runs each cell in its own process; the totals include start-up).
// quick's 0.12 s minimum time per cell keeps it there with ring's two placements and idle's common
// size (99 cells): 0.3 s took 79 s of running, 0.12 s takes 49 s with the calibration.
const std::vector<profile>& profiles() {
  static const std::vector<profile> all = {
      {.name = "smoke",
       .min_time_s = 0.01,
       .iteration_budget_s = 0.1,
       .cell_timeout_s = 60,
       .sweep_workers = false,
       .wait_sizes = {10, 1000},
       .wait_max_delay_ms = 2,
       .spawn_leaves = 1000,
       .fib_n = 20,
       .fib_cutoffs = {2, 10, 15},
       .ring_sizes = {2, 16},
       .ring_hops = 1000,
       .pipeline_items = 1000,
       .pipeline_stages = 3,
       .pipeline_capacity = 15,
       .pipeline_paced_items = 20,
       .pipeline_delay_us = 100,
       .idle_units = 1000,
       .idle_thread_units = 100,
       .idle_fiber_stacks_kib = {16},
       .echo_connections = {10, 100},
       .echo_requests = 2000,
       .echo_bytes = 64,
       .echo_open_loop_connections = {10},
       .echo_open_loop_requests = 500,
       .echo_rate = 20000,
       .echo_fault_connections = {10}},
      {.name = "quick",
       .min_time_s = 0.12,
       .iteration_budget_s = 0.5,
       .cell_timeout_s = 120,
       .sweep_workers = false,
       .wait_sizes = {10, 1000, 10000},
       .wait_max_delay_ms = 10,
       .spawn_leaves = 10000,
       .fib_n = 30,
       .fib_cutoffs = {2, 10, 15, 20, 25},
       .ring_sizes = {2, 503},
       .ring_hops = 20000,
       .pipeline_items = 20000,
       .pipeline_stages = 4,
       .pipeline_capacity = 15,
       .pipeline_paced_items = 500,
       .pipeline_delay_us = 200,
       .idle_units = 20000,
       .idle_thread_units = 1000,
       .idle_fiber_stacks_kib = {16, 8, 7},
       .echo_connections = {10, 1000},
       .echo_requests = 6000,
       .echo_bytes = 64,
       .echo_open_loop_connections = {100},
       .echo_open_loop_requests = 3000,
       .echo_rate = 20000,
       .echo_fault_connections = {100}},
      {.name = "full",
       .min_time_s = 0.5,
       .iteration_budget_s = 5.0,
       .cell_timeout_s = 600,
       .sweep_workers = true,
       .wait_sizes = {10, 1000, 10000, 100000},
       .wait_max_delay_ms = 10,
       .spawn_leaves = 1000000,
       .fib_n = 32,
       .fib_cutoffs = {2, 6, 10, 14, 18, 22, 26},
       .ring_sizes = {2, 503, 10000},
       .ring_hops = 100000,
       .pipeline_items = 200000,
       .pipeline_stages = 4,
       .pipeline_capacity = 15,
       .pipeline_paced_items = 2000,
       .pipeline_delay_us = 200,
       .idle_units = 1000000,
       .idle_thread_units = 10000,
       .idle_fiber_stacks_kib = {16, 8, 7},
       .echo_connections = {10, 1000, 10000},
       .echo_requests = 50000,
       .echo_bytes = 64,
       .echo_open_loop_connections = {100, 1000},
       .echo_open_loop_requests = 20000,
       .echo_rate = 20000,
       .echo_fault_connections = {100}},
  };
  return all;
}
}  // namespace

std::optional<profile> find_profile(const std::string& name) {
  for (const auto& p : profiles())
    if (p.name == name) return p;
  return std::nullopt;
}

std::vector<std::string> profile_names() {
  std::vector<std::string> names;
  for (const auto& p : profiles()) names.push_back(p.name);
  return names;
}

}  // namespace cmbench
