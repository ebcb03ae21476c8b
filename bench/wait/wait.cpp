// The wait workload's problem, check and cells; the models are in the files named after them.
#include <algorithm>
#include <random>

#include "bench/wait/spec.hpp"
#include "models/tbb/suspend_budget.hpp"
#include "models/threads/thread_budget.hpp"

namespace cmbench::wait {

problem make_problem(const spec& s) {
  problem p{s, std::vector<std::uint32_t>(s.n)};
  // mt19937_64's output is fixed by the standard; the distributions are not, so map by hand.
  std::mt19937_64 gen(s.seed);
  const std::uint64_t range = s.max_delay_ms * 1000 + 1;
  for (auto& d : p.delays_us) d = static_cast<std::uint32_t>(gen() % range);
  return p;
}

check_result check(const problem& p, const completion_log& log, latency_histogram& lat) {
  check_result r;
  r.units = log.count();
  r.items = r.units;
  if (log.count() != p.s.n) {
    r.error = "expected " + std::to_string(p.s.n) + " completed waits, got " +
              std::to_string(log.count());
    return r;
  }
  std::vector<std::uint32_t> got = log.delays_us();
  std::vector<std::uint32_t> want = p.delays_us;
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  if (got != want) {
    r.error = "the completed delays are not the generated ones";
    return r;
  }
  for (std::int64_t late : log.lateness_ns()) {
    if (late < 0) {
      r.error = "a wait woke " + std::to_string(-late) + " ns before its deadline";
      return r;
    }
    lat.record(static_cast<std::uint64_t>(late));
  }
  return r;
}

namespace {

struct iteration {
  iteration(model& m, const spec& s) : m(m), p(make_problem(s)) {}
  model& m;
  const problem p;
  std::unique_ptr<completion_log> log;

  void warm_up() {
    const problem tiny = make_problem({4, 0});
    completion_log tiny_log(tiny.s.n);
    memory_probe off;
    m.run(tiny, tiny_log, off);
  }
  void prepare() { log = std::make_unique<completion_log>(p.s.n); }
  void execute(memory_probe& probe) { m.run(p, *log, probe); }
  check_result check(latency_histogram& lat) { return wait::check(p, *log, lat); }
};

cell make_cell(const cell_env& env, const char* name,
               std::unique_ptr<model> (*make)(const cell_env&), const spec& s) {
  return cmbench::make_cell<iteration>("wait", name, {{"n", s.n}, {"max_delay_ms", s.max_delay_ms}},
                                       env, make, s);
}

std::optional<std::string> over_budget(const char* what, double expected_s, const profile& prof) {
  if (expected_s <= prof.iteration_budget_s) return std::nullopt;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%s: expected %.1f s per iteration, above the %s profile's %.1f s budget", what,
                expected_s, prof.name.c_str(), prof.iteration_budget_s);
  return std::string(buf);
}

}  // namespace

std::vector<cell> cells(const cell_env& env) {
  std::vector<cell> out;
  for (std::uint64_t n : env.prof.wait_sizes) {
    const spec s{n, env.prof.wait_max_delay_ms};
    const double mean_delay_s = static_cast<double>(s.max_delay_ms) / 2e3;

    cell sync = make_cell(env, "sync", make_sync, s);
    sync.skip_reason = over_budget("waits one after another (n x mean delay)",
                                   static_cast<double>(n) * mean_delay_s, env.prof);
    out.push_back(std::move(sync));

    cell threads = make_cell(env, "threads", make_threads, s);
    threads.skip_reason = threads_model::thread_budget_refusal(n, env.max_threads);
    out.push_back(std::move(threads));

    cell tbb = make_cell(env, "tbb", make_tbb, s);
    tbb.skip_reason = tbb_model::suspend_budget_refusal(n);
    out.push_back(std::move(tbb));

    cell blocking = make_cell(env, "tbb_blocking", make_tbb_blocking, s);
    blocking.skip_reason =
        over_budget("sleeps inside tasks, one wait per worker at a time (n x mean delay / workers)",
                    static_cast<double>(n) * mean_delay_s / env.workers, env.prof);
    out.push_back(std::move(blocking));

    out.push_back(make_cell(env, "fibers", make_fibers, s));
    out.push_back(make_cell(env, "coro", make_coro, s));
  }
  return out;
}

}  // namespace cmbench::wait
