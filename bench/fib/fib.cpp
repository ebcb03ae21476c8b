// The fib workload's reference, check and cells; the models are in the files named after them.
#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "bench/fib/spec.hpp"
#include "models/threads/thread_budget.hpp"

namespace cmbench::fib {

// Out of line so that no model's compiler sees through the leaf work.
std::uint64_t serial_fib(std::uint64_t n) {
  return n < 2 ? n : serial_fib(n - 1) + serial_fib(n - 2);
}

std::uint64_t fork_count(const spec& s) {
  // forks(k) for k = 0 .. n, bottom up.
  std::vector<std::uint64_t> f(s.n + 1, 0);
  for (std::uint64_t k = 0; k <= s.n; ++k) f[k] = k < s.cutoff ? 0 : 1 + f[k - 1] + f[k - 2];
  return f[s.n];
}

check_result check(const spec& s, const result& root) {
  check_result r;
  r.units = root.forks + 1;
  r.items = r.units;
  std::uint64_t a = 0, b = 1;  // fib(0), fib(1)
  for (std::uint64_t k = 0; k < s.n; ++k) {
    const std::uint64_t next = a + b;
    a = b;
    b = next;
  }
  if (root.value != a)
    r.error = "fib(" + std::to_string(s.n) + ") = " + std::to_string(root.value) + ", expected " +
              std::to_string(a);
  else if (root.forks != fork_count(s))
    r.error = std::to_string(root.forks) + " forks, expected " + std::to_string(fork_count(s));
  return r;
}

namespace {

struct iteration {
  iteration(model& m, const spec& s) : m(m), s(s) {}
  model& m;
  const spec s;
  result root;

  void warm_up() {
    memory_probe off;
    m.run(spec{s.cutoff + 2, s.cutoff}, off);
  }
  void prepare() { root = {}; }
  void execute(memory_probe& probe) { root = m.run(s, probe); }
  check_result check(latency_histogram&) { return fib::check(s, root); }

  // The serial elision's best time of 5, then grain_ns and efficiency: see spec.hpp. The best, not
  // the median: on a shared machine interference only ever slows a run down.
  void report(benchmark::State& state, const timed_totals& timed) {
    if (state.iterations() == 0 || timed.wall_s <= 0) return;
    auto serial = make_sync(cell_env{});
    memory_probe off;
    std::vector<double> seconds;
    for (int i = 0; i < 5; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      benchmark::DoNotOptimize(serial->run(s, off));
      seconds.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    const double serial_s = *std::min_element(seconds.begin(), seconds.end());
    const double model_s = timed.wall_s / static_cast<double>(state.iterations());
    state.counters["serial_ns"] = benchmark::Counter(serial_s * 1e9);
    state.counters["grain_ns"] =
        benchmark::Counter(serial_s * 1e9 / static_cast<double>(fork_count(s) + 1));
    state.counters["efficiency"] = benchmark::Counter(serial_s / (model_s * s.cores_used));
  }
};

cell make_cell(const cell_env& env, const char* name,
               std::unique_ptr<model> (*make)(const cell_env&), const spec& s) {
  return compute_cell(
      cmbench::make_cell<iteration>("fib", name, {{"n", s.n}, {"cutoff", s.cutoff}}, env, make, s),
      env);
}

}  // namespace

std::vector<cell> cells(const cell_env& env) {
  std::vector<cell> out;
  for (std::uint64_t cutoff : env.prof.fib_cutoffs) {
    if (cutoff < 2 || cutoff > env.prof.fib_n)
      throw std::invalid_argument("fib: cutoff must be from 2 to n, got " + std::to_string(cutoff));
    const spec s{env.prof.fib_n, cutoff, env.workers};
    out.push_back(make_cell(env, "sync", make_sync, spec{s.n, s.cutoff, 1}));
    cell threads = make_cell(env, "threads", make_threads, s);
    threads.skip_reason = threads_model::thread_budget_refusal(fork_count(s), env.max_threads);
    out.push_back(std::move(threads));
    out.push_back(make_cell(env, "tbb", make_tbb, s));
    out.push_back(make_cell(env, "fibers", make_fibers, s));
    out.push_back(make_cell(env, "coro", make_coro, s));
  }
  return out;
}

}  // namespace cmbench::fib
