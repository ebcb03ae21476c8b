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
  const spec same[] = {{2, 2}, {3, 1000}, {17, 5}, {100, 2000}};
  const spec cross[] = {{2, 2, handoff::cross},
                        {3, 1000, handoff::cross},
                        {17, 5, handoff::cross},
                        {100, 2000, handoff::cross},
                        {2, 5000, handoff::cross}};
  // handoff:same means one worker (the cells build it so, and check() holds a run to it); on one
  // worker the model is reused from one placement to the other. One model at a time: oneTBB's
  // thread limit is process-wide, the smallest of the live arenas' limits.
  for (unsigned workers : {1u, 2u, 3u}) {
    auto m = make_for(name)(test_support::smoke_env(workers));
    std::vector<spec> specs(std::begin(cross), std::end(cross));
    if (workers == 1) specs.insert(specs.begin(), std::begin(same), std::end(same));
    for (const spec& s : specs) {
      const std::string cell =
          name + " workers=" + std::to_string(workers) + " units=" + std::to_string(s.units) +
          " hops=" + std::to_string(s.hops) + " handoff=" + handoff_name(s.placement);
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

TEST(RingCheck, HoldsTheRunToItsPlacement) {
  auto check_places = [](handoff placement, unsigned spread, std::vector<int> places) {
    const spec s{4, 100, placement};
    hop_log log(s);
    memory_probe probe;
    const token t = make_sync({})->run(log, probe);
    log.spread_over(spread);
    for (std::uint64_t u = 0; u < places.size(); ++u) log.ran_at(u, places[u]);
    latency_histogram lat;
    return check(log, t, reference_value(s), lat).error;
  };
  EXPECT_EQ(check_places(handoff::same, 1, {3, 3, 3, 3}), "");
  EXPECT_NE(check_places(handoff::same, 1, {3, 3, 1, 3}), "");
  EXPECT_NE(check_places(handoff::same, 1, {3, 3, 3, -1}), "");  // a unit that did not report
  EXPECT_EQ(check_places(handoff::cross, 2, {0, 1, 0, 1}), "");
  EXPECT_EQ(check_places(handoff::cross, 3, {0, 1, 2, 0}), "");
  EXPECT_NE(check_places(handoff::cross, 2, {0, 1, 1, 0}), "");
  EXPECT_EQ(check_places(handoff::cross, 1, {0, 0, 0, 0}), "");  // one worker: nowhere to cross
}

TEST(RingCells, NameThePlacementAndCompareLikeWithLike) {
  cell_env env = test_support::smoke_env(2);
  std::vector<std::string> same, cross;
  for (const cell& c : cells(env)) {
    const std::string n = c.name();
    (n.find("/handoff:same") != std::string::npos ? same : cross).push_back(n);
    EXPECT_EQ(c.one_worker, n.find("/handoff:same") != std::string::npos) << n;
  }
  EXPECT_EQ(same.size(), 2u * 5);   // every model, per ring size
  EXPECT_EQ(cross.size(), 2u * 4);  // no sync: a call has no core to cross to
  for (const cell& c : cells(test_support::smoke_env(1))) {
    if (c.name().find("/handoff:cross") != std::string::npos) {
      EXPECT_TRUE(c.skip_reason.has_value()) << c.name();
    }
  }
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
