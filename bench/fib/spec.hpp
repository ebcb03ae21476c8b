// The fib workload: fork-join fib(n), the same shape in every model. A call with n >= cutoff
// forks fib(n-1) as a new concurrent unit, computes fib(n-2) inline in its own unit, and joins;
// below the cutoff it computes serially, so `cutoff` sets the grain of work per unit. Each call
// returns its value and the forks made under it; the root must report fib(n) and
// forks(n, cutoff) = n < cutoff ? 0 : 1 + forks(n-1) + forks(n-2). Units are the forks plus the
// root; items are units.
//
// Each cell also times the serial elision (the sync model: the same calls with every fork a plain
// call) in its own process, untimed, and reports Task Bench's figures for the minimum effective
// task granularity (METG: the smallest grain whose efficiency is still >= 50%):
//   grain_ns   = serial time / units, the mean work per unit;
//   efficiency = serial time / (model time x cores_used).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "bench/harness/cell.hpp"
#include "bench/harness/measure.hpp"

namespace cmbench::fib {

struct spec {
  std::uint64_t n;
  std::uint64_t cutoff;     // >= 2: below it, no forks
  unsigned cores_used = 1;  // threads the model computes on, for `efficiency` (sync: 1)
};

struct result {
  std::uint64_t value = 0;
  std::uint64_t forks = 0;
};

// The serial leaf every model calls below the cutoff.
std::uint64_t serial_fib(std::uint64_t n);

// An inner call's result from its forked and inline halves.
inline result combine(const result& forked, const result& inline_half) {
  return {forked.value + inline_half.value, 1 + forked.forks + inline_half.forks};
}

std::uint64_t fork_count(const spec& s);
check_result check(const spec& s, const result& root);

class model {
 public:
  virtual ~model() = default;
  virtual result run(const spec& s, memory_probe& probe) = 0;
};

std::unique_ptr<model> make_sync(const cell_env& env);
std::unique_ptr<model> make_threads(const cell_env& env);
std::unique_ptr<model> make_tbb(const cell_env& env);
std::unique_ptr<model> make_fibers(const cell_env& env);
std::unique_ptr<model> make_coro(const cell_env& env);

std::vector<cell> cells(const cell_env& env);

}  // namespace cmbench::fib
