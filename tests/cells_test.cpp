// Every model of every workload, at a small size, gives the reference result and unit count;
// a cell whose check fails is reported as a failure.
#include <benchmark/benchmark.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

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
  std::set<std::string> wait_models, spawn_models;
  for (const cell& c : cells) (c.workload == "wait" ? wait_models : spawn_models).insert(c.model);
  std::set<std::string> want_wait = models;
  want_wait.insert("tbb_blocking");
  EXPECT_EQ(wait_models, want_wait);
  EXPECT_EQ(spawn_models, models);
}

TEST(Catalogue, ThreadsBeyondTheCapAreSkippedWithAReason) {
  cell_env env = small_env(2);
  env.max_threads = 100;
  for (const cell& c : all_cells(env)) {
    if (c.model != "threads") continue;
    if (c.name() == "wait/threads/n:10/max_delay_ms:2") {
      EXPECT_FALSE(c.skip_reason);
    } else {
      ASSERT_TRUE(c.skip_reason) << c.name();
      EXPECT_NE(c.skip_reason->find("--max-threads=100"), std::string::npos);
    }
  }
}

namespace {
// An iteration whose result is wrong on purpose.
struct wrong_iteration {
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
