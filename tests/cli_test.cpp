// cmbench's command line: bad flags and absurd values give a clear error and exit status 2;
// --list shows the matrix; a verified run exits 0.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench/harness/heap_counter.hpp"

namespace {

struct result {
  int status;
  std::string output;  // stdout and stderr
};

result run(const std::string& args) {
  const std::string cmd = std::string(CMBENCH_EXE) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

void expect_usage_error(const std::string& args, const std::string& says) {
  const result r = run(args);
  EXPECT_EQ(r.status, 2) << args << "\n" << r.output;
  EXPECT_NE(r.output.find(says), std::string::npos) << args << "\n" << r.output;
}

}  // namespace

TEST(Cli, RejectsBadFlagsAndValuesWithStatus2) {
  expect_usage_error("--workers=0", "--workers=0: expected a whole number from 1 to 1024");
  expect_usage_error("--workers=two", "--workers=two");
  expect_usage_error("--workers", "--workers needs a value");
  expect_usage_error("--profile=nope", "unknown profile");
  expect_usage_error("--max-threads=-5", "--max-threads=-5");
  expect_usage_error("--cell-timeout=0", "--cell-timeout=0");
  expect_usage_error("--frobnicate", "unknown flag --frobnicate");
  expect_usage_error("--benchmark_frobnicate=1", "unknown or malformed flag");
  expect_usage_error("--list=xml", "--list=xml");
}

TEST(Cli, AFilterThatMatchesNothingIsAnError) {
  expect_usage_error("--profile=smoke --benchmark_filter=no-such-cell", "no cell matches");
}

TEST(Cli, ListShowsEveryCellWithItsState) {
  const result r = run("--profile=smoke --max-threads=100 --list");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("wait/coro/n:1000/max_delay_ms:2 "), std::string::npos) << r.output;
  const auto line = r.output.find("spawn/threads/leaves:1000 ");
  ASSERT_NE(line, std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("skipped: needs 1111 OS threads, above --max-threads=100", line),
            r.output.find("skipped: ", line))
      << r.output;
  const result j = run("--profile=smoke --list=json");
  EXPECT_EQ(j.status, 0);
  EXPECT_NE(j.output.find("\"name\": \"spawn/tbb/leaves:1000\""), std::string::npos) << j.output;
}

TEST(Cli, AHungCellStopsTheRunWithStatus2AndNoOutputFile) {
  // wait/sync/n:10 sleeps about 10 ms per run: far past a 1 ms limit.
  const std::string out = ::testing::TempDir() + "cmbench_hang.json";
  const result r =
      run("--profile=smoke --cell-timeout=0.001 --benchmark_filter='^wait/sync/n:10/' "
          "--benchmark_out=" +
          out);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("cell wait/sync/n:10/max_delay_ms:2 did not finish within 0.001 s"),
            std::string::npos)
      << r.output;
  EXPECT_NE(std::system(("test -e " + out).c_str()), 0) << "partial output left at " << out;
}

TEST(Cli, ASmokeCellRunsVerifiedAndReportsTheCounters) {
  const result r = run("--profile=smoke --workers=2 --benchmark_filter='^wait/coro/n:1000/'");
  EXPECT_EQ(r.status, 0) << r.output;
  for (const char* counter :
       {"tasks=1000", "rss_per_task_B", "items_per_second", "cpu_util", "lat_p99_ns"})
    EXPECT_NE(r.output.find(counter), std::string::npos) << counter << "\n" << r.output;
  // Compiled out under the sanitizers, whose allocators it would fight.
  EXPECT_EQ(r.output.find("heap_per_task_B") != std::string::npos,
            cmbench::heap_counter::available())
      << r.output;
}

TEST(Cli, FibCellsReportGrainAndEfficiencyAndRingCellsTheHopTime) {
  const result r =
      run("--profile=smoke --workers=2 "
          "--benchmark_filter='^(fib/coro/n:20/cutoff:10|ring/coro/units:16)/'");
  EXPECT_EQ(r.status, 0) << r.output;
  for (const char* counter : {"grain_ns", "efficiency", "serial_ns", "switch_ns"})
    EXPECT_NE(r.output.find(counter), std::string::npos) << counter << "\n" << r.output;
}

TEST(Cli, ListJsonGivesComputeCellsTheCoresTheyKeepBusy) {
  const result r = run("--profile=smoke --workers=2 --list=json");
  ASSERT_EQ(r.status, 0) << r.output;
  // Each cell's entry is one line.
  const auto entry = [&](const std::string& name) {
    const auto at = r.output.find("\"name\": \"" + name + "\"");
    EXPECT_NE(at, std::string::npos) << name << "\n" << r.output;
    return at == std::string::npos ? std::string()
                                   : r.output.substr(at, r.output.find('\n', at) - at);
  };
  EXPECT_NE(entry("fib/coro/n:20/cutoff:2").find("\"busy_cores\": 2,"), std::string::npos);
  EXPECT_NE(entry("fib/sync/n:20/cutoff:2").find("\"busy_cores\": 1,"), std::string::npos);
  // A thread per unit idles in join by itself; a wait cell idles on the clock.
  EXPECT_EQ(entry("fib/threads/n:20/cutoff:2").find("busy_cores"), std::string::npos);
  EXPECT_EQ(entry("wait/coro/n:10/max_delay_ms:2").find("busy_cores"), std::string::npos);
}

TEST(Cli, ALongEnoughRunReportsTheCoresOthersTook) {
  // A third of a second of timed runs: well past min_others_span_s.
  const result r =
      run("--profile=smoke --benchmark_min_time=0.3 --benchmark_format=json "
          "--benchmark_filter='^fib/sync/n:20/cutoff:10/'");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto at = r.output.find("\"others_cpu\": ");
  ASSERT_NE(at, std::string::npos) << r.output;
  const double others = std::strtod(r.output.c_str() + at + 14, nullptr);
  EXPECT_GE(others, 0.0) << r.output;
}
