// The ring workload: every model passes the token the right number of hops in the right order,
// at several ring sizes and worker counts, and finishes under a deadline.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "bench/ring/spec.hpp"
#include "tests/finishes_within.hpp"
#include "tests/workload_models.hpp"

using namespace cmbench;
using namespace cmbench::ring;

namespace {

using maker = std::unique_ptr<model> (*)(const cell_env&);
maker make_for(const std::string& name) {
  return test_support::model_factory<maker>(name, make_sync, make_threads, make_tbb, make_fibers,
                                            make_coro);
}

}  // namespace

class RingModels : public ::testing::TestWithParam<std::string> {};

TEST_P(RingModels, PassesTheTokenEveryHopInOrder) {
  const std::string name = GetParam();
  for (unsigned workers : {1u, 2u, 3u}) {
    auto m = make_for(name)(test_support::smoke_env(workers));
    // One round, a partial last round, a long ring; the model and its runtime are reused.
    for (const spec s : {spec{2, 2}, spec{3, 1000}, spec{17, 5}, spec{100, 2000}}) {
      const std::string cell = name + " workers=" + std::to_string(workers) +
                               " units=" + std::to_string(s.units) +
                               " hops=" + std::to_string(s.hops);
      test_support::finishes_within(std::chrono::seconds(20), "ring " + cell, [&] {
        hop_log log(s);
        memory_probe probe;
        const token last = m->run(log, probe);
        latency_histogram lat;
        const check_result c = check(log, last, reference_value(s), lat);
        EXPECT_EQ(c.error, "") << cell;
        EXPECT_EQ(c.units, s.units) << cell;
        EXPECT_EQ(c.items, s.hops) << cell;
        EXPECT_EQ(lat.count(), s.hops / log.hops_per_sample) << cell;
        EXPECT_GT(c.clocked_s, 0) << cell;
      });
    }
  }
}
INSTANTIATE_TEST_SUITE_P(All, RingModels,
                         ::testing::Values("sync", "threads", "tbb", "fibers", "coro"));

TEST(RingCheck, RejectsAWrongValueHopCountOrUnitCount) {
  const spec s{4, 100};
  const std::uint64_t ref = reference_value(s);
  auto run_and_check = [&](auto&& tamper) {
    hop_log log(s);
    memory_probe probe;
    token t = make_sync({})->run(log, probe);
    tamper(log, t);
    latency_histogram lat;
    return check(log, t, ref, lat);
  };
  EXPECT_EQ(run_and_check([](hop_log&, token&) {}).error, "");
  EXPECT_NE(run_and_check([](hop_log&, token& t) { t.value ^= 1; }).error, "");
  EXPECT_NE(run_and_check([](hop_log&, token& t) { --t.hops; }).error, "");
  EXPECT_NE(run_and_check([](hop_log& log, token&) { log.unit_started(); }).error, "");
}

TEST(RingSpec, TheValueDependsOnTheOrderOfHops) {
  // Two rings of the same size and hop count whose units hop in a different order differ.
  std::uint64_t forward = 0, swapped = 0;
  for (std::uint64_t h = 0; h < 6; ++h) {
    forward = mix(forward, h % 3);
    swapped = mix(swapped, (h % 3 == 1) ? 2 : (h % 3 == 2) ? 1 : 0);
  }
  EXPECT_EQ(forward, reference_value({3, 6}));
  EXPECT_NE(forward, swapped);
}

TEST(RingSpec, SamplesCoverAtLeastSixtyFourHopsInWholeRounds) {
  EXPECT_EQ(hop_log({2, 10}).hops_per_sample, 64u);
  EXPECT_EQ(hop_log({3, 10}).hops_per_sample, 66u);
  EXPECT_EQ(hop_log({503, 10}).hops_per_sample, 503u);
}

TEST(FinishesWithin, AHungBodyEndsTheProcessNamingIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      test_support::finishes_within(std::chrono::seconds(1), "ring/example",
                                    [] { std::this_thread::sleep_for(std::chrono::hours(1)); }),
      ::testing::ExitedWithCode(1), "HUNG: ring/example did not finish within 1 s");
}
