#include <gtest/gtest.h>
#include <sys/mman.h>
#include <tbb/task_group.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "bench/harness/fit.hpp"
#include "bench/harness/heap_counter.hpp"
#include "bench/harness/latency_histogram.hpp"
#include "bench/harness/machine_cpu.hpp"
#include "bench/harness/page_fault.hpp"
#include "bench/harness/resident_memory.hpp"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CMBENCH_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define CMBENCH_TEST_ASAN 1
#endif

namespace {

#ifdef CMBENCH_TEST_ASAN
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif

using cmbench::latency_histogram;
using cmbench::latency_recorder;

// |actual - expected| <= expected * documented relative error.
void expect_within_error(std::uint64_t actual, std::uint64_t expected) {
  const double tolerance = static_cast<double>(expected) * latency_histogram::kRelativeError;
  EXPECT_NEAR(static_cast<double>(actual), static_cast<double>(expected), tolerance)
      << "expected " << expected << " within 1/32";
}

TEST(LatencyHistogram, PercentilesOfOneToHundredThousand) {
  auto h = std::make_unique<latency_histogram>();
  for (std::uint64_t v = 1; v <= 100000; ++v) h->record(v);
  EXPECT_EQ(h->count(), 100000u);
  EXPECT_EQ(h->min(), 1u);
  EXPECT_EQ(h->max(), 100000u);
  expect_within_error(h->percentile(0.5), 50000);
  expect_within_error(h->percentile(0.99), 99000);
  expect_within_error(h->percentile(0.999), 99900);
  EXPECT_EQ(h->percentile(1.0), 100000u);  // clamped to the exact max
  EXPECT_EQ(h->percentile(0.0), 1u);       // values below 64 are exact
}

TEST(LatencyHistogram, BucketsAreExactBelow64AndBoundTheRelativeError) {
  for (std::uint64_t v = 0; v < 64; ++v) {
    EXPECT_EQ(latency_histogram::bucket_upper_bound(latency_histogram::bucket_index(v)), v);
  }
  for (std::uint64_t v : {64ull, 65ull, 1000ull, 123456789ull, 1ull << 40, (1ull << 40) - 1}) {
    const std::uint64_t upper =
        latency_histogram::bucket_upper_bound(latency_histogram::bucket_index(v));
    EXPECT_GE(upper, v);
    EXPECT_LE(static_cast<double>(upper - v), static_cast<double>(v) / 32) << v;
  }
  // Consecutive buckets tile the range: each upper bound + 1 starts the next bucket.
  for (std::size_t i = 0; i + 1 < latency_histogram::kBuckets; ++i) {
    ASSERT_EQ(latency_histogram::bucket_index(latency_histogram::bucket_upper_bound(i)), i);
    ASSERT_EQ(latency_histogram::bucket_index(latency_histogram::bucket_upper_bound(i) + 1), i + 1);
  }
}

TEST(LatencyHistogram, MergeOfTwoHalvesEqualsRecordingAll) {
  auto all = std::make_unique<latency_histogram>();
  auto low = std::make_unique<latency_histogram>();
  auto high = std::make_unique<latency_histogram>();
  for (std::uint64_t v = 1; v <= 100000; ++v) {
    all->record(v * 7);
    (v % 2 ? low : high)->record(v * 7);
  }
  low->merge(*high);
  EXPECT_EQ(low->count(), all->count());
  EXPECT_EQ(low->min(), all->min());
  EXPECT_EQ(low->max(), all->max());
  for (double q : {0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    EXPECT_EQ(low->percentile(q), all->percentile(q)) << q;
  }
}

TEST(LatencyHistogram, EmptyReturnsZeros) {
  const latency_histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.percentile(0.5), 0u);
  EXPECT_EQ(h.percentile(1.0), 0u);
}

TEST(LatencyHistogram, SingleValueIsEveryQuantile) {
  latency_histogram h;
  h.record(123457);  // not a bucket boundary: clamping to [min, max] makes it exact
  for (double q : {0.0, 0.25, 0.5, 0.99, 0.999, 1.0}) EXPECT_EQ(h.percentile(q), 123457u) << q;
}

TEST(LatencyHistogram, HugeValuesStayInRange) {
  EXPECT_EQ(latency_histogram::bucket_index(UINT64_MAX), latency_histogram::kBuckets - 1);
  EXPECT_EQ(latency_histogram::bucket_upper_bound(latency_histogram::kBuckets - 1), UINT64_MAX);
  latency_histogram h;
  h.record(UINT64_MAX);
  h.record(UINT64_MAX - 1);
  h.record(std::uint64_t{1} << 63);
  EXPECT_EQ(h.count(), 3u);
  EXPECT_EQ(h.max(), UINT64_MAX);
  EXPECT_EQ(h.min(), std::uint64_t{1} << 63);
  EXPECT_EQ(h.percentile(1.0), UINT64_MAX);
  EXPECT_EQ(h.percentile(0.0), (std::uint64_t{1} << 63) + (std::uint64_t{1} << 58) - 1);
}

TEST(LatencyRecorder, FourThreadsOnFourShards) {
  latency_recorder rec(4);
  ASSERT_EQ(rec.shards(), 4u);
  constexpr std::uint64_t kPerThread = 100000;
  std::vector<std::thread> threads;
  for (unsigned s = 0; s < 4; ++s) {
    threads.emplace_back([&rec, s] {
      for (std::uint64_t i = 1; i <= kPerThread; ++i) rec.record(s, i * (s + 1));
    });
  }
  for (auto& t : threads) t.join();
  const latency_histogram all = rec.merged();
  EXPECT_EQ(all.count(), 4 * kPerThread);
  EXPECT_EQ(all.min(), 1u);
  EXPECT_EQ(all.max(), 4 * kPerThread);
}

TEST(ResidentMemory, GrowsWithTouchedMemoryAndDropsOnFree) {
  constexpr std::size_t kBlock = 64u << 20;
  const std::uint64_t before = cmbench::resident_bytes();
  EXPECT_GT(before, 0u);
  // volatile pointer: keeps the compiler from eliding the malloc/memset/free triple.
  char* volatile block = static_cast<char*>(std::malloc(kBlock));
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, kBlock);
  const std::uint64_t touched = cmbench::resident_bytes();
  EXPECT_GE(touched, before + (60u << 20));
  // 64 MiB is far above glibc's mmap threshold (128 KiB, at most 32 MiB when it adapts), so the
  // block is its own mapping and free() unmaps it at once. ASan instead parks freed blocks in
  // its quarantine (256 MiB by default), so there the memory stays resident.
  std::free(block);
  const std::uint64_t after = cmbench::resident_bytes();
  if (!kAddressSanitizer) {
    EXPECT_LE(after, before + (4u << 20));
  }
}

TEST(HeapCounter, CountsOperatorNew) {
  if (!cmbench::heap_counter::available()) GTEST_SKIP() << "compiled out (sanitizer build)";
  std::vector<char*> blocks(1000);  // allocated before start()
  cmbench::heap_counter::start();
  for (auto& b : blocks) b = new char[1000];
  const auto t = cmbench::heap_counter::stop();
  for (char* b : blocks) delete[] b;
  EXPECT_GE(t.bytes, 1000u * 1000u);
  EXPECT_GE(t.allocations, 1000u);
}

TEST(HeapCounter, NothingCountedAfterStop) {
  if (!cmbench::heap_counter::available()) GTEST_SKIP() << "compiled out (sanitizer build)";
  cmbench::heap_counter::start();
  const auto first = cmbench::heap_counter::stop();
  std::vector<std::unique_ptr<int[]>> blocks;
  blocks.reserve(100);
  for (int i = 0; i < 100; ++i) blocks.push_back(std::make_unique<int[]>(1000));
  const auto second = cmbench::heap_counter::stop();
  EXPECT_EQ(second.bytes, first.bytes);
  EXPECT_EQ(second.allocations, first.allocations);
}

TEST(HeapCounter, CountsOtherThreadsAndCFunctions) {
  if (!cmbench::heap_counter::available()) GTEST_SKIP() << "compiled out (sanitizer build)";
  void* a = nullptr;
  void* b = nullptr;
  void* c = nullptr;
  cmbench::heap_counter::start();
  std::thread([&] {
    a = std::calloc(1000, 100);                      // 100000
    b = std::realloc(std::malloc(10), 200000);       // 10 + 200000
    ASSERT_EQ(posix_memalign(&c, 4096, 300000), 0);  // 300000
  }).join();
  const auto t = cmbench::heap_counter::stop();
  std::free(a);
  std::free(b);
  std::free(c);
  EXPECT_GE(t.bytes, 600010u);
  EXPECT_GE(t.allocations, 4u);
}

// oneTBB allocates through libtbbmalloc, bypassing malloc; heap_counter.cpp interposes libtbb's
// allocation entry points. Each run uses a fresh thread, hence a fresh TBB small-object pool that
// recycles nothing from earlier runs, and the tasks wait on a gate so all of them are alive at
// once: the bytes must scale with the task count.
std::uint64_t task_group_heap_bytes(int tasks) {
  std::uint64_t bytes = 0;
  std::thread([&] {
    std::atomic<bool> gate{false};
    tbb::task_group group;
    cmbench::heap_counter::start();
    for (int i = 0; i < tasks; ++i) {
      group.run([&gate] {
        while (!gate.load(std::memory_order_acquire)) std::this_thread::yield();
      });
    }
    bytes = cmbench::heap_counter::stop().bytes;
    gate.store(true, std::memory_order_release);
    group.wait();
  }).join();
  return bytes;
}

TEST(HeapCounter, CountsTbbTaskAllocations) {
  if (!cmbench::heap_counter::available()) GTEST_SKIP() << "compiled out (sanitizer build)";
  task_group_heap_bytes(100);  // first use initialises the TBB scheduler
  const std::uint64_t ten = task_group_heap_bytes(10000);
  const std::uint64_t twenty = task_group_heap_bytes(20000);
  RecordProperty("tbb_bytes_10000_tasks", std::to_string(ten));
  RecordProperty("tbb_bytes_20000_tasks", std::to_string(twenty));
  EXPECT_GE(ten, 10000u * 64);  // a task object is at least a cache line
  EXPECT_GT(twenty, ten + ten / 2);
}

}  // namespace

TEST(LeastSquares, RecoversAKnownPerItemCostUnderNoise) {
  // Memory of n parked units: 1 MiB of fixed cost plus 344 bytes each, with +-2 KiB of noise
  // (page-sized jitter), over the sizes an idle cell uses.
  std::vector<double> units, bytes;
  const double noise[] = {2048, -1024, 0, -2048};
  for (int i = 1; i <= 4; ++i) {
    units.push_back(25000.0 * i);
    bytes.push_back(1048576.0 + 344.0 * 25000.0 * i + noise[i - 1]);
  }
  const auto fit = cmbench::least_squares(units, bytes);
  ASSERT_TRUE(fit);
  EXPECT_NEAR(fit->slope, 344.0, 0.1);
  EXPECT_NEAR(fit->intercept, 1048576.0, 4096.0);
}

TEST(LeastSquares, NeedsTwoDistinctSizes) {
  EXPECT_FALSE(cmbench::least_squares({5}, {1}));
  EXPECT_FALSE(cmbench::least_squares({5, 5}, {1, 2}));
  EXPECT_NEAR(cmbench::least_squares({1, 2}, {10, 30})->slope, 20.0, 1e-12);
}

TEST(ResidentMemory, VirtualSizeCountsReservedButUntouchedMemory) {
  const auto before = cmbench::memory_now();
  constexpr std::size_t size = 256u << 20;  // reserved, never touched
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  const auto after = cmbench::memory_now();
  munmap(p, size);
  EXPECT_GE(after.virtual_bytes - before.virtual_bytes, size);
  EXPECT_LT(after.resident_bytes - before.resident_bytes, std::uint64_t{1} << 20);
}

TEST(MachineCpu, OthersAreTheMachinesBusyTimeLessOurs) {
  EXPECT_NEAR(*cmbench::others_cores(1.5, 0.5, 1.0), 1.0, 1e-12);
  EXPECT_NEAR(*cmbench::others_cores(3.0, 2.0, 2.0), 0.5, 1e-12);
  // Tick rounding can put the machine a little below our own clock: none taken, not negative.
  EXPECT_EQ(*cmbench::others_cores(0.98, 1.0, 1.0), 0.0);
  // Too short a span for 10 ms ticks to say anything.
  EXPECT_FALSE(cmbench::others_cores(0.1, 0.0, cmbench::min_others_span_s / 2));
}

TEST(MachineCpu, TheMachinesBusyTimeGrowsWhileWeSpin) {
  const auto before = cmbench::machine_busy_seconds();
  ASSERT_TRUE(before) << "/proc/stat unreadable";
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
  volatile std::uint64_t spins = 0;
  while (std::chrono::steady_clock::now() < until) spins = spins + 1;
  const auto after = cmbench::machine_busy_seconds();
  ASSERT_TRUE(after);
  // 100 ms of our own spinning, less a few 10 ms ticks of rounding.
  EXPECT_GE(*after - *before, 0.05);
}

// The run's context figure: a positive cost per page, and the mapping it faulted in is gone
// afterwards (1 MiB of touched pages would show in the resident set).
TEST(PageFault, MeasuresAPositiveCostAndGivesItsPagesBack) {
  const auto before = cmbench::resident_bytes();
  const auto ns = cmbench::page_fault_ns();
  const auto after = cmbench::resident_bytes();
  ASSERT_TRUE(ns) << "mmap failed";
  EXPECT_GT(*ns, 0.0);
  EXPECT_LT(after, before + 512 * 1024);
}
