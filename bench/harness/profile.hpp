// profile: the problem sizes and time budgets of the smoke, quick and full suites.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cmbench {

struct profile {
  std::string name;
  double min_time_s;          // Google Benchmark's --benchmark_min_time for every cell
  double iteration_budget_s;  // a cell whose expected iteration time exceeds this is skipped
  double cell_timeout_s;      // a cell running longer than this is declared hung
  bool sweep_workers;         // run multi-worker cells at every worker count 1..--workers
  // wait
  std::vector<std::uint64_t> wait_sizes;
  std::uint64_t wait_max_delay_ms;
  // spawn
  std::uint64_t spawn_leaves;
  // fib: n, and the cutoffs that sweep the grain per unit from nanoseconds to about a millisecond
  std::uint64_t fib_n;
  std::vector<std::uint64_t> fib_cutoffs;
  // ring: ring sizes K (K = 2 is ping-pong) and the hops the token makes per run
  std::vector<std::uint64_t> ring_sizes;
  std::uint64_t ring_hops;
  // pipeline: items, stages and channel capacity of the unpaced run; the paced run has fewer
  // items with a producer delay between them (the seeds' generator that sleeps between yields).
  // Capacity 15: Boost.Fiber's buffered_channel holds one less than a power of two, so with 15
  // every model's channels hold exactly C items (see bench/pipeline/fibers.cpp)
  std::uint64_t pipeline_items;
  std::uint64_t pipeline_stages;
  std::uint64_t pipeline_capacity;
  std::uint64_t pipeline_paced_items;
  std::uint64_t pipeline_delay_us;
  // idle: the numbers of parked units (each cell fits its slope over several sizes up to its
  // own), and the fiber stack sizes shown at the large size: the pool's default, 8 KiB, and
  // 7 KiB, the smallest whole KiB with which idle passes in the release build (g++ -O3; at 6 KiB
  // the fibers overflow their stacks and the process aborts). Smoke runs only the default: the
  // debug and sanitizer builds need bigger frames (see models/fibers/fiber_pool.hpp).
  std::uint64_t idle_units;         // the large size: sync, fibers, coro
  std::uint64_t idle_thread_units;  // the common size: every model (threads also capped by
                                    // --max-threads); the largest threads and tbb run
  std::vector<std::uint64_t> idle_fiber_stacks_kib;
  // echo: connection counts of the closed-loop cells and the requests each cell makes in all
  // (spread over its connections), the request size, and the open-loop cells: their connection
  // counts, requests and fixed rate (requests per second over all connections), a rate every
  // model sustains here, so that the tail shows queueing and stalls rather than overload.
  std::vector<std::uint64_t> echo_connections;
  std::uint64_t echo_requests;
  std::uint64_t echo_bytes;
  std::vector<std::uint64_t> echo_open_loop_connections;
  std::uint64_t echo_open_loop_requests;
  std::uint64_t echo_rate;
  // Connection counts of the closed-loop cells that also serve the fault peers (echo/protocol.hpp),
  // each making echo_requests requests in all.
  std::vector<std::uint64_t> echo_fault_connections;
};

std::optional<profile> find_profile(const std::string& name);
std::vector<std::string> profile_names();

}  // namespace cmbench
