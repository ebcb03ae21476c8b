// The idle workload: every model parks N units on one event and resumes each exactly once after
// the release, at several sizes and worker counts; the check rejects what a broken model does.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>

#include "bench/idle/spec.hpp"
#include "models/fibers/fiber_pool.hpp"
#include "tests/finishes_within.hpp"
#include "tests/workload_models.hpp"

using namespace cmbench;
using namespace cmbench::idle;

namespace {

using maker = std::unique_ptr<model> (*)(const cell_env&, const spec&);
maker make_for(const std::string& name) {
  return test_support::model_factory<maker>(name, make_sync, make_threads, make_tbb, make_fibers,
                                            make_coro);
}

}  // namespace

class IdleModels : public ::testing::TestWithParam<std::string> {};

TEST_P(IdleModels, ResumesEveryParkedUnitOnceAfterTheRelease) {
  const std::string name = GetParam();
  for (unsigned workers : {1u, 2u, 3u}) {
    auto m = make_for(name)(test_support::smoke_env(workers), spec{0});
    for (std::uint64_t n : {1u, 5u, 200u}) {  // the runtime is reused across sizes
      const std::string cell =
          name + " workers=" + std::to_string(workers) + " units=" + std::to_string(n);
      test_support::finishes_within(std::chrono::seconds(20), "idle " + cell, [&] {
        idle_log log(n);
        memory_probe probe;
        probe.start();
        m->run(log, probe);
        probe.stop();
        latency_histogram lat;
        const check_result c = check(log, lat);
        EXPECT_EQ(c.error, "") << cell;
        EXPECT_EQ(c.units, n) << cell;
        EXPECT_EQ(lat.count(), n) << cell;
        ASSERT_TRUE(probe.marked()) << cell << ": the model did not mark its peak";
        EXPECT_EQ(probe.peak_live(), static_cast<std::int64_t>(n)) << cell;
      });
    }
  }
}
INSTANTIATE_TEST_SUITE_P(All, IdleModels,
                         ::testing::Values("sync", "threads", "tbb", "fibers", "coro"));

// The report puts the idle cells of one size in one table: every model has a cell at the common
// size (idle_thread_units), fibers with the pool's default stack; the large size (idle_units)
// has the models that reach it, fibers at each stack size of the profile.
TEST(IdleCells, EveryModelRunsAtTheCommonSizeInEveryProfile) {
  const std::set<std::string> all = {"sync", "threads", "tbb", "fibers", "coro"};
  const std::set<std::string> scaling = {"sync", "fibers", "coro"};
  for (const std::string& name : profile_names()) {
    cell_env env = test_support::smoke_env(2);
    env.prof = *find_profile(name);
    const std::uint64_t common = env.prof.idle_thread_units;
    const std::uint64_t large = env.prof.idle_units;
    ASSERT_LT(common, large) << name;
    std::set<std::string> at_common, at_large;
    std::set<std::uint64_t> large_stacks;
    for (const cell& c : cells(env)) {
      ASSERT_EQ(c.params.front().first, "units") << c.name();
      const std::uint64_t units = c.params.front().second.number();
      const std::uint64_t stack_kib = c.params.size() > 1 ? c.params[1].second.number() : 0;
      if (units == common) {
        EXPECT_TRUE(at_common.insert(c.model).second) << name << ": " << c.name() << " twice";
        if (c.model == "fibers") {
          EXPECT_EQ(stack_kib * 1024, fibers::default_stack_bytes);
        }
      } else {
        EXPECT_EQ(units, large) << c.name();
        at_large.insert(c.model);
        if (c.model == "fibers") large_stacks.insert(stack_kib);
      }
    }
    EXPECT_EQ(at_common, all) << name;
    EXPECT_EQ(at_large, scaling) << name;
    EXPECT_EQ(large_stacks, std::set<std::uint64_t>(env.prof.idle_fiber_stacks_kib.begin(),
                                                    env.prof.idle_fiber_stacks_kib.end()))
        << name;
  }
}

TEST(IdleCheck, RejectsAMissingEarlyOrRepeatedResumption) {
  auto checked = [](auto&& tamper) {
    idle_log log(3);
    for (int u = 0; u < 3; ++u) log.unit_started();
    for (int u = 0; u < 3; ++u) log.last_to_park();
    log.released();
    tamper(log);
    latency_histogram lat;
    return check(log, lat).error;
  };
  EXPECT_EQ(checked([](idle_log& l) {
              for (int u = 0; u < 3; ++u) l.resumed(u);
            }),
            "");
  EXPECT_NE(checked([](idle_log& l) {  // unit 2 never resumed
              l.resumed(0);
              l.resumed(1);
            }),
            "");
  EXPECT_NE(checked([](idle_log& l) {  // unit 0 twice, unit 2 never
              l.resumed(0);
              l.resumed(0);
              l.resumed(1);
            }),
            "");
  idle_log early(1);
  early.unit_started();
  early.resumed(0);  // before the release
  early.last_to_park();
  early.released();
  latency_histogram lat;
  EXPECT_NE(check(early, lat).error, "");
}
