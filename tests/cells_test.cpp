// Every model of every workload, at a small size, gives the reference result and unit count;
// a cell whose check fails is reported as a failure.
#include <benchmark/benchmark.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "bench/fib/spec.hpp"
#include "bench/harness/suite.hpp"
#include "bench/spawn/spec.hpp"
#include "bench/wait/spec.hpp"

using namespace cmbench;

namespace {

cell_env small_env(unsigned workers) {
  cell_env env;
  env.workers = workers;
  env.max_threads = 10000;
  env.prof = *find_profile("smoke");
  return env;
}

const std::set<std::string> models = {"sync", "threads", "tbb", "fibers", "coro"};

}  // namespace

class WaitModels : public ::testing::TestWithParam<std::string> {};

TEST_P(WaitModels, CompletesEveryWaitWithTheGeneratedDelays) {
  using namespace cmbench::wait;
  const std::string name = GetParam();
  for (unsigned workers : {1u, 2u}) {
    const cell_env env = small_env(workers);
    auto make = name == "sync"           ? make_sync
                : name == "threads"      ? make_threads
                : name == "tbb"          ? make_tbb
                : name == "tbb_blocking" ? make_tbb_blocking
                : name == "fibers"       ? make_fibers
                                         : make_coro;
    auto m = make(env);
    const problem p = make_problem({200, 1});
    for (int run = 0; run < 3; ++run) {  // the runtime is reused across iterations
      completion_log log(p.s.n);
      memory_probe probe;
      m->run(p, log, probe);
      latency_histogram lat;
      const check_result c = check(p, log, lat);
      EXPECT_EQ(c.error, "") << name << " workers=" << workers;
      EXPECT_EQ(c.units, 200u);
      EXPECT_EQ(lat.count(), 200u);
    }
  }
}
INSTANTIATE_TEST_SUITE_P(All, WaitModels,
                         ::testing::Values("sync", "threads", "tbb", "tbb_blocking", "fibers",
                                           "coro"));

class SpawnModels : public ::testing::TestWithParam<std::string> {};

TEST_P(SpawnModels, SumsTheTreeAndCountsEveryNode) {
  using namespace cmbench::spawn;
  const std::string name = GetParam();
  for (unsigned workers : {1u, 2u, 3u}) {
    const cell_env env = small_env(workers);
    auto make = name == "sync"      ? make_sync
                : name == "threads" ? make_threads
                : name == "tbb"     ? make_tbb
                : name == "fibers"  ? make_fibers
                                    : make_coro;
    auto m = make(env);
    const spec s{1000};
    for (int run = 0; run < 3; ++run) {
      memory_probe probe;
      const subtree root = m->run(s, probe);
      const check_result c = check(s, root);
      EXPECT_EQ(c.error, "") << name << " workers=" << workers;
      EXPECT_EQ(c.units, 1111u);
      EXPECT_EQ(root.sum, 499500u);
    }
  }
}
INSTANTIATE_TEST_SUITE_P(All, SpawnModels,
                         ::testing::Values("sync", "threads", "tbb", "fibers", "coro"));

class FibModels : public ::testing::TestWithParam<std::string> {};

TEST_P(FibModels, ComputesFibAndCountsEveryFork) {
  using namespace cmbench::fib;
  const std::string name = GetParam();
  for (unsigned workers : {1u, 2u, 3u}) {
    const cell_env env = small_env(workers);
    auto make = name == "sync"      ? make_sync
                : name == "threads" ? make_threads
                : name == "tbb"     ? make_tbb
                : name == "fibers"  ? make_fibers
                                    : make_coro;
    auto m = make(env);
    for (std::uint64_t cutoff : {2u, 5u, 12u}) {
      const spec s{16, cutoff};
      memory_probe probe;
      const result r = m->run(s, probe);
      const check_result c = check(s, r);
      EXPECT_EQ(c.error, "") << name << " workers=" << workers << " cutoff=" << cutoff;
      EXPECT_EQ(r.value, 987u);
      EXPECT_EQ(c.units, fork_count(s) + 1);
    }
  }
}
INSTANTIATE_TEST_SUITE_P(All, FibModels,
                         ::testing::Values("sync", "threads", "tbb", "fibers", "coro"));

TEST(FibSpec, CountsForksAndRejectsWrongResults) {
  EXPECT_EQ(fib::fork_count({16, 17}), 0u);
  EXPECT_EQ(fib::fork_count({2, 2}), 1u);  // fib(2) forks fib(1), computes fib(0)
  EXPECT_EQ(fib::fork_count({4, 2}), 4u);  // 1 + forks(3) + forks(2) = 1 + 2 + 1
  EXPECT_EQ(fib::fork_count({30, 2}), 1346268u);
  EXPECT_EQ(fib::check({10, 2}, {55, fib::fork_count({10, 2})}).error, "");
  EXPECT_NE(fib::check({10, 2}, {54, fib::fork_count({10, 2})}).error, "");
  EXPECT_NE(fib::check({10, 2}, {55, 3}).error, "");
}

TEST(SpawnCheck, RejectsAWrongSumOrCount) {
  const spawn::spec s{100};
  EXPECT_NE(spawn::check(s, {4950, 110}).error, "");
  EXPECT_NE(spawn::check(s, {4949, 111}).error, "");
  EXPECT_EQ(spawn::check(s, {4950, 111}).error, "");
}

TEST(WaitCheck, RejectsAMissingOrChangedDelay) {
  const wait::problem p = wait::make_problem({3, 5});
  latency_histogram lat;
  wait::completion_log short_log(3);
  short_log.complete(p.delays_us[0], 0);
  EXPECT_NE(wait::check(p, short_log, lat).error, "");
  wait::completion_log changed(3);
  changed.complete(p.delays_us[0], 0);
  changed.complete(p.delays_us[1], 0);
  changed.complete(p.delays_us[2] + 1, 0);
  EXPECT_NE(wait::check(p, changed, lat).error, "");
}

TEST(WaitProblem, IsTheSameForEveryModelAndRun) {
  const auto a = wait::make_problem({1000, 10});
  const auto b = wait::make_problem({1000, 10});
  EXPECT_EQ(a.delays_us, b.delays_us);
  std::uint32_t lo = UINT32_MAX, hi = 0;
  for (auto d : a.delays_us) lo = std::min(lo, d), hi = std::max(hi, d);
  EXPECT_LE(hi, 10000u);
  EXPECT_LT(lo, 100u);  // uniform over [0, 10 ms]: 1000 draws reach both ends
  EXPECT_GT(hi, 9900u);
}

TEST(Catalogue, ListsEveryModelOfEveryWorkload) {
  const auto cells = all_cells(small_env(2));
  std::map<std::string, std::set<std::string>> by_workload;
  for (const cell& c : cells) by_workload[c.workload].insert(c.model);
  std::set<std::string> want_wait = models;
  want_wait.insert("tbb_blocking");
  EXPECT_EQ(by_workload["wait"], want_wait);
  EXPECT_EQ(by_workload["spawn"], models);
  EXPECT_EQ(by_workload["fib"], models);
  EXPECT_EQ(by_workload["ring"], models);
  EXPECT_EQ(by_workload["pipeline"], models);
  EXPECT_EQ(by_workload["idle"], models);
  std::set<std::string> want_echo = models;
  want_echo.insert("tbb_polling");
  EXPECT_EQ(by_workload["echo"], want_echo);
  EXPECT_EQ(by_workload.size(), 7u);
}

TEST(Catalogue, ThreadsBeyondTheCapAreSkippedWithAReason) {
  cell_env env = small_env(2);
  env.max_threads = 100;
  for (const cell& c : all_cells(env)) {
    if (c.model != "threads") continue;
    if (c.workload == "echo") {  // a thread per connection
      const bool beyond = c.params.front().second.number() > 50;
      cell_env tight = env;
      tight.max_threads = 50;
      for (const cell& t : all_cells(tight))
        if (t.name() == c.name()) {
          EXPECT_EQ(t.skip_reason.has_value(), beyond) << t.name();
          if (beyond) {
            EXPECT_NE(t.skip_reason->find("--max-threads=50"), std::string::npos);
          }
        }
      EXPECT_FALSE(c.skip_reason) << c.name();
      continue;
    }
    if (c.name() == "wait/threads/n:10/max_delay_ms:2" ||
        c.name() == "fib/threads/n:20/cutoff:15" || c.workload == "ring" ||
        c.workload == "pipeline" || c.workload == "idle") {
      EXPECT_FALSE(c.skip_reason);
    } else {
      ASSERT_TRUE(c.skip_reason) << c.name();
      EXPECT_NE(c.skip_reason->find("--max-threads=100"), std::string::npos);
    }
  }
}

TEST(Catalogue, TheFullProfileSweepsWorkersOfMultiWorkerModels) {
  cell_env env = small_env(2);
  env.prof = *find_profile("full");
  std::set<std::string> names;
  for (const cell& c : all_cells(env)) names.insert(c.name());
  EXPECT_TRUE(names.count("spawn/coro/leaves:1000000/workers:1"));
  EXPECT_TRUE(names.count("spawn/coro/leaves:1000000/workers:2"));
  EXPECT_TRUE(names.count("fib/tbb/n:32/cutoff:2/workers:1"));
  EXPECT_TRUE(names.count("wait/fibers/n:10/max_delay_ms:10/workers:2"));
  EXPECT_FALSE(names.count("spawn/coro/leaves:1000000/workers:3"));
  EXPECT_FALSE(names.count("spawn/coro/leaves:1000000"));
  EXPECT_TRUE(names.count("spawn/sync/leaves:1000000"));  // no worker count
  EXPECT_FALSE(names.count("spawn/sync/leaves:1000000/workers:1"));
  // idle: the common size at every worker count, the large size at --workers only.
  EXPECT_TRUE(names.count("idle/coro/units:10000/workers:1"));
  EXPECT_TRUE(names.count("idle/coro/units:10000/workers:2"));
  EXPECT_TRUE(names.count("idle/coro/units:1000000"));
  EXPECT_TRUE(names.count("idle/fibers/units:1000000/stack_kib:7"));
  EXPECT_FALSE(names.count("idle/fibers/units:1000000/stack_kib:7/workers:1"));
  EXPECT_FALSE(names.count("idle/coro/units:1000000/workers:2"));
}

namespace {
// An iteration whose result is wrong on purpose.
struct wrong_iteration {
  void warm_up() {}
  void prepare() {}
  void execute(memory_probe&) {}
  check_result check(latency_histogram&) { return {"deliberately wrong", 1, 1}; }
};
}  // namespace

TEST(Measure, AWrongResultFailsTheCell) {
  const int before = failed_cells();
  benchmark::RegisterBenchmark("cells_test/wrong", [](benchmark::State& state) {
    wrong_iteration it;
    measure(state, it, std::make_shared<std::optional<memory_figures>>());
  })->UseManualTime();
  benchmark::SetBenchmarkFilter("^cells_test/wrong/");
  benchmark::ConsoleReporter quiet;
  std::ostringstream sink;
  quiet.SetOutputStream(&sink);
  quiet.SetErrorStream(&sink);
  EXPECT_EQ(benchmark::RunSpecifiedBenchmarks(&quiet), 1u);
  EXPECT_EQ(failed_cells(), before + 1);
  EXPECT_NE(sink.str().find("deliberately wrong"), std::string::npos);
}
