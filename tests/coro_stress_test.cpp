// The coroutine runtime under stress: a fixed number of rounds, each one coro workload (wait,
// spawn, fib, ring, pipeline, idle, echo) at a random size on a new scheduler of 1-4 workers, with
// random timer delays, checked against the workload's reference like a cell. The deque, wake and
// timer paths are where lost wake-ups hide: a round that hangs ends the process, naming the round
// and how to replay it (the watchdog of finishes_within). Run in release and under ThreadSanitizer
// (the tsan preset), where a data race fails the run.
//
// CMBENCH_STRESS_SEED and CMBENCH_STRESS_ROUNDS override the seed and the round count; a failing
// round's message gives both, so that exactly that round can be run again.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "bench/fib/spec.hpp"
#include "bench/idle/spec.hpp"
#include "bench/pipeline/spec.hpp"
#include "bench/ring/spec.hpp"
#include "bench/spawn/spec.hpp"
#include "bench/wait/spec.hpp"
#include "tests/echo_run.hpp"
#include "tests/finishes_within.hpp"
#include "tests/workload_models.hpp"

using namespace cmbench;

namespace {

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

// A sanitizer build runs every step several times slower; the watchdog allows for it.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr std::chrono::seconds round_limit{120};
#else
constexpr std::chrono::seconds round_limit{30};
#endif

struct round_rng {
  std::mt19937_64 gen;
  std::uint64_t in(std::uint64_t lo, std::uint64_t hi) {  // [lo, hi]
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(gen);
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(gen); }
};

// Says what a round runs before it runs it: a hung round is the last one named on stderr.
void announce(const std::string& what) {
  std::fprintf(stderr, "  %s\n", what.c_str());
  std::fflush(stderr);
}

// Each runs one round of its workload and returns the round's description; failures are
// EXPECTs naming it.
std::string wait_round(round_rng& r, unsigned workers) {
  const wait::spec s{r.in(1, 3000), r.in(0, 3), r.in(1, 1u << 30)};
  const std::string what = "wait n:" + std::to_string(s.n) + " max_delay_ms:" +
                           std::to_string(s.max_delay_ms) + " seed:" + std::to_string(s.seed);
  announce(what);
  const wait::problem p = wait::make_problem(s);
  auto m = wait::make_coro(test_support::smoke_env(workers));
  wait::completion_log log(s.n);
  memory_probe probe;
  m->run(p, log, probe);
  latency_histogram lat;
  const check_result c = wait::check(p, log, lat);
  EXPECT_EQ(c.error, "") << what;
  EXPECT_EQ(c.units, s.n) << what;
  return what;
}

std::string spawn_round(round_rng& r, unsigned workers) {
  std::uint64_t leaves = 1;
  for (std::uint64_t levels = r.in(1, 4); levels > 0; --levels) leaves *= spawn::fanout;
  const spawn::spec s{leaves};
  const std::string what = "spawn leaves:" + std::to_string(leaves);
  announce(what);
  auto m = spawn::make_coro(test_support::smoke_env(workers));
  memory_probe probe;
  const check_result c = spawn::check(s, m->run(s, probe));
  EXPECT_EQ(c.error, "") << what;
  EXPECT_EQ(c.units, spawn::node_count(s)) << what;
  return what;
}

std::string fib_round(round_rng& r, unsigned workers) {
  const std::uint64_t n = r.in(2, 22);
  const fib::spec s{n, r.in(2, n), workers};
  const std::string what = "fib n:" + std::to_string(s.n) + " cutoff:" + std::to_string(s.cutoff);
  announce(what);
  auto m = fib::make_coro(test_support::smoke_env(workers));
  memory_probe probe;
  const check_result c = fib::check(s, m->run(s, probe));
  EXPECT_EQ(c.error, "") << what;
  return what;
}

std::string ring_round(round_rng& r, unsigned& workers) {
  const bool cross = r.chance(0.6);
  if (!cross) workers = 1;  // handoff:same is one worker, as the cells build it
  const ring::spec s{r.in(2, 64), r.in(1, 3000), cross ? ring::handoff::cross : ring::handoff::same};
  const std::string what = "ring units:" + std::to_string(s.units) + " hops:" +
                           std::to_string(s.hops) + " handoff:" + ring::handoff_name(s.placement);
  announce(what);
  auto m = ring::make_coro(test_support::smoke_env(workers));
  ring::hop_log log(s);
  memory_probe probe;
  const ring::token last = m->run(log, probe);
  latency_histogram lat;
  const check_result c = ring::check(log, last, ring::reference_value(s), lat);
  EXPECT_EQ(c.error, "") << what;
  EXPECT_EQ(c.units, s.units) << what;
  return what;
}

std::string pipeline_round(round_rng& r, unsigned workers) {
  const bool paced = r.chance(0.2);
  const pipeline::spec s{paced ? r.in(1, 50) : r.in(1, 2000), r.in(0, 4), r.in(1, 16),
                         paced ? r.in(1, 200) : 0};
  const std::string what = "pipeline items:" + std::to_string(s.items) + " stages:" +
                           std::to_string(s.stages) + " capacity:" + std::to_string(s.capacity) +
                           " delay_us:" + std::to_string(s.delay_us);
  announce(what);
  auto m = pipeline::make_coro(test_support::smoke_env(workers));
  pipeline::run_log log(s.items);
  memory_probe probe;
  m->run(s, log, probe);
  latency_histogram lat;
  const check_result c = pipeline::check(s, pipeline::reference_checksum(s), log, lat);
  EXPECT_EQ(c.error, "") << what;
  return what;
}

std::string idle_round(round_rng& r, unsigned workers) {
  const idle::spec s{r.in(1, 5000)};
  const std::string what = "idle units:" + std::to_string(s.units);
  announce(what);
  auto m = idle::make_coro(test_support::smoke_env(workers), s);
  idle::idle_log log(s.units);
  memory_probe probe;
  probe.start();
  m->run(log, probe);
  probe.stop();
  latency_histogram lat;
  const check_result c = idle::check(log, lat);
  EXPECT_EQ(c.error, "") << what;
  EXPECT_EQ(c.units, s.units) << what;
  return what;
}

std::string echo_round(round_rng& r, unsigned workers) {
  echo::spec s{r.in(1, 50), r.in(1, 20), r.in(1, 300)};
  if (r.chance(0.25)) s.rate = r.in(2000, 20000);  // open loop
  const std::string what = "echo connections:" + std::to_string(s.connections) + " requests:" +
                           std::to_string(s.requests) + " bytes:" + std::to_string(s.bytes) +
                           " rate:" + std::to_string(s.rate);
  announce(what);
  auto m = echo::make_coro(test_support::smoke_env(workers));
  const echo::outcome o = echo::run_once(*m, s);
  EXPECT_EQ(o.checked.error, "") << what;
  EXPECT_EQ(o.checked.items, s.connections * s.requests) << what;
  return what;
}

}  // namespace

TEST(CoroStress, EveryWorkloadAtRandomSizesAndWorkerCounts) {
  const std::uint64_t seed = env_or("CMBENCH_STRESS_SEED", 20261205);
  const std::uint64_t rounds = env_or("CMBENCH_STRESS_ROUNDS", 300);
  std::mt19937_64 seeds(seed);
  int ran[7] = {};
  for (std::uint64_t k = 0; k < rounds; ++k) {
    // Each round from a seed of its own, so that the message below replays exactly this one.
    const std::uint64_t round_seed = seeds();
    round_rng r{std::mt19937_64(round_seed)};
    const int workload = static_cast<int>(r.in(0, 6));
    unsigned workers = static_cast<unsigned>(r.in(1, 4));
    const std::string round = "round " + std::to_string(k) + " of seed " + std::to_string(seed) +
                              " (CMBENCH_STRESS_SEED=" + std::to_string(seed) +
                              " CMBENCH_STRESS_ROUNDS=" + std::to_string(k + 1) + ")";
    SCOPED_TRACE(round);
    std::fprintf(stderr, "%s, workers:%u\n", round.c_str(), workers);
    std::string what;
    test_support::finishes_within(round_limit, "coro stress " + round, [&] {
      switch (workload) {
        case 0: what = wait_round(r, workers); break;
        case 1: what = spawn_round(r, workers); break;
        case 2: what = fib_round(r, workers); break;
        case 3: what = ring_round(r, workers); break;
        case 4: what = pipeline_round(r, workers); break;
        case 5: what = idle_round(r, workers); break;
        default: what = echo_round(r, workers); break;
      }
    });
    ++ran[workload];
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << round << " failed: " << what << " workers:" << workers;
      return;
    }
  }
  // The seed's rounds cover every workload (a new seed that did not would say so here).
  for (int w = 0; w < 7; ++w) EXPECT_GT(ran[w], 0) << "no round of workload " << w;
}
