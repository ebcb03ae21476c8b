// The idle workload: every model parks N units on one event and resumes each exactly once after
// the release, at several sizes and worker counts; the check rejects what a broken model does.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "bench/idle/spec.hpp"
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
