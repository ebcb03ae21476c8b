// Tests for models/fibers/fiber_pool: results, migration, placement, timers, channels, readiness,
// bounded memory.
#include "models/fibers/fiber_pool.hpp"

#include <gtest/gtest.h>
#include <malloc.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/fiber/buffered_channel.hpp>
#include <boost/fiber/condition_variable.hpp>
#include <boost/fiber/mutex.hpp>
#include <boost/fiber/operations.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/finishes_within.hpp"
#include "tests/pipe_pair.hpp"

namespace cmbench::fibers {
namespace {

using namespace std::chrono_literals;

// Assertions stay outside fibers: a failing gtest macro formats its message on the fiber's stack.

TEST(FiberPool, RunReturnsTheValueAndRunsOnAWorker) {
  fiber_pool pool(2);
  EXPECT_EQ(pool.workers(), 2u);
  EXPECT_EQ(pool.stack_bytes(), default_stack_bytes);
  EXPECT_EQ(pool.run([] { return 42; }), 42);
  const int worker = pool.run([] { return current_worker(); });
  EXPECT_GE(worker, 0);
  EXPECT_LT(worker, 2);
  EXPECT_EQ(current_worker(), -1);
  bool ran = false;
  pool.run([&] { ran = true; });
  EXPECT_TRUE(ran);
}

TEST(FiberPool, RunRethrowsTheException) {
  fiber_pool pool(2);
  try {
    pool.run([]() -> int { throw std::runtime_error("from the fiber"); });
    FAIL() << "run() returned normally";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "from the fiber");
  }
  EXPECT_EQ(pool.run([] { return 7; }), 7);  // the pool still works afterwards
}

TEST(FiberPool, RejectsMisuse) {
  EXPECT_THROW(fiber_pool(0), std::invalid_argument);
  EXPECT_THROW(fiber_pool(1, 1024), std::invalid_argument);
  EXPECT_THROW(spawn([] {}), std::logic_error);  // not on a pool worker
  fiber_pool pool(1);
  const bool nested_run_threw = pool.run([&] {
    try {
      pool.run([] {});
    } catch (const std::logic_error&) {
      return true;
    }
    return false;
  });
  EXPECT_TRUE(nested_run_threw);
}

// Fans out `n` fibers; returns how many of them ran on a worker index in [0, workers).
int fan_out(int n, int workers) {
  std::vector<int> seen(static_cast<std::size_t>(n), -2);
  std::vector<boost::fibers::fiber> children;
  for (int i = 0; i < n; ++i)
    children.push_back(spawn([&seen, i] { seen[static_cast<std::size_t>(i)] = current_worker(); }));
  for (auto& f : children) f.join();
  return static_cast<int>(
      std::count_if(seen.begin(), seen.end(), [&](int w) { return w >= 0 && w < workers; }));
}

TEST(FiberPool, CreatedAndDestroyedRepeatedlyWithDifferentWorkerCounts) {
  for (int round = 0; round < 20; ++round) {
    const unsigned workers = 1 + static_cast<unsigned>(round % 3);
    fiber_pool pool(workers);
    ASSERT_EQ(pool.workers(), workers);
    EXPECT_EQ(pool.run([&] { return fan_out(100, static_cast<int>(workers)); }), 100)
        << "round " << round << ", " << workers << " workers";
  }
}

TEST(FiberPool, RunFromSeveralThreadsAtOnce) {
  fiber_pool pool(2);
  std::array<int, 4> ok{};
  std::vector<std::thread> callers;
  for (std::size_t t = 0; t < ok.size(); ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) ok[t] += pool.run([] { return fan_out(20, 2); }) == 20 ? 1 : 0;
    });
  }
  for (auto& c : callers) c.join();
  for (int n : ok) EXPECT_EQ(n, 20);
}

TEST(FiberPool, TwoPoolsAliveAtOnceStayIndependent) {
  fiber_pool a(1);
  fiber_pool b(2);
  EXPECT_EQ(a.run([] { return fan_out(50, 1); }), 50);
  EXPECT_EQ(b.run([] { return fan_out(50, 2); }), 50);
  EXPECT_EQ(a.run([] { return current_worker(); }), 0);
}

struct skynet_stats {
  std::atomic<std::uint64_t> nodes{0};
  std::atomic<std::int64_t> alive{0};
  std::atomic<std::int64_t> peak_alive{0};
  // Heap in use (malloc'd, all arenas), sampled by every 128th leaf; only if sample_heap is set.
  bool sample_heap = false;
  std::atomic<std::uint64_t> peak_heap{0};
};

void raise_to(std::atomic<std::int64_t>& peak, std::int64_t v) {
  std::int64_t p = peak.load();
  while (v > p && !peak.compare_exchange_weak(p, v)) {
  }
}

// Every node is a fiber: spawns 10 children, joins them, returns the sum of its leaves' indices.
std::uint64_t skynet(std::uint64_t first, std::uint64_t leaves, skynet_stats& st) {
  st.nodes.fetch_add(1, std::memory_order_relaxed);
  raise_to(st.peak_alive, st.alive.fetch_add(1) + 1);
  std::uint64_t sum = first;
  if (leaves > 1) {
    const std::uint64_t step = leaves / 10;
    std::array<std::uint64_t, 10> sums{};
    std::array<boost::fibers::fiber, 10> children;
    for (std::uint64_t i = 0; i < 10; ++i)
      children[i] =
          spawn([&sums, &st, i, first, step] { sums[i] = skynet(first + i * step, step, st); });
    for (auto& c : children) c.join();
    sum = 0;
    for (std::uint64_t s : sums) sum += s;
  } else if (st.sample_heap && first % 128 == 0) {
    const std::uint64_t in_use = mallinfo2().uordblks;
    std::uint64_t p = st.peak_heap.load();
    while (in_use > p && !st.peak_heap.compare_exchange_weak(p, in_use)) {
    }
  }
  st.alive.fetch_sub(1);
  return sum;
}

TEST(FiberPool, SkynetTenThousandLeaves) {
  constexpr std::uint64_t leaves = 10'000;
  fiber_pool pool(2);
  skynet_stats st;
  EXPECT_EQ(pool.run([&] { return skynet(0, leaves, st); }), leaves * (leaves - 1) / 2);
  EXPECT_EQ(st.nodes.load(), (10 * leaves - 1) / 9);  // 11111
  EXPECT_EQ(st.alive.load(), 0);
}

// What this protects: the two ways a fork/join tree blows up memory in this pool.
//  1. Run order. spawn() posts, so with a FIFO ready queue the tree runs breadth-first and most
//     nodes are alive at once. The pool's LIFO deques run it depth-first: the fibers inside their
//     body are about workers x depth (measured peak: 11). Popping FIFO instead: 3938.
//  2. Reclamation. A finished fiber's stack is freed only when its worker's dispatcher runs. If
//     pick_next preferred ready fibers over the dispatcher, dead fibers would pile up while (1)
//     still holds: they are invisible to the alive counter. So the heap in use is sampled as well;
//     every stack is a malloc'd block of stack_bytes. Measured peak: ~130 stacks (ready children
//     not started yet, dead ones not freed yet, the per-worker stack caches). With the dispatcher
//     run only when the deque is empty: ~64000. Popping FIFO: ~39000.
TEST(FiberPool, SkynetMemoryStaysBounded) {
  constexpr std::uint64_t leaves = 100'000;
  constexpr std::uint64_t nodes = (10 * leaves - 1) / 9;
  fiber_pool pool(2);
  skynet_stats st;
  st.sample_heap = true;
  malloc_trim(0);
  const std::uint64_t heap_before = mallinfo2().uordblks;
  EXPECT_EQ(pool.run([&] { return skynet(0, leaves, st); }), leaves * (leaves - 1) / 2);
  EXPECT_EQ(st.nodes.load(), nodes);
  EXPECT_LT(st.peak_alive.load(), static_cast<std::int64_t>(nodes / 10));
  EXPECT_LT(st.peak_alive.load(), 1000);  // the tighter bound is the one that catches FIFO order
  const std::uint64_t peak_stacks =
      (std::max(st.peak_heap.load(), heap_before) - heap_before) / pool.stack_bytes();
  RecordProperty("peak_alive", std::to_string(st.peak_alive.load()));
  RecordProperty("peak_heap_in_stacks", std::to_string(peak_stacks));
  EXPECT_LT(peak_stacks, 2000u) << "peak alive " << st.peak_alive.load();
}

// Freed stacks are kept for reuse, and those freed on one worker serve the fibers another starts
// (through the pool's spare list): a worker that only spawns and one that only ends fibers, run
// after run, hold no more stacks than one run's fibers. Without the sharing the spawner would
// malloc a fresh stack per fiber every run while the other's cache grew by as many.
TEST(FiberPool, StacksFreedOnOneWorkerServeTheFibersOfAnother) {
  constexpr int fibers_per_run = 500, runs = 6;
  fiber_pool pool(2);
  const auto spawn_on_0_end_on_1 = [&] {
    pool.run([&] {
      // Stacks are taken on the spawning worker, and given back where the last reference to
      // the fiber goes: here, the joiner, once it has moved to worker 1.
      stay_on(0);
      std::vector<boost::fibers::fiber> fs;
      for (int i = 0; i < fibers_per_run; ++i) fs.push_back(spawn([] {}));
      stay_on(1);
      for (auto& f : fs) f.join();
      fs.clear();
      return 0;
    });
  };
  spawn_on_0_end_on_1();
  const std::uint64_t after_first = pool.stacks_allocated();
  EXPECT_GE(after_first, static_cast<std::uint64_t>(fibers_per_run));
  for (int r = 1; r < runs; ++r) spawn_on_0_end_on_1();
  EXPECT_LT(pool.stacks_allocated() - after_first, static_cast<std::uint64_t>(fibers_per_run) / 2)
      << "stacks taken from malloc after the first run";
}

TEST(FiberPool, TenThousandSleepersAllWakeUp) {
  constexpr int n = 10'000;
  fiber_pool pool(2);
  // Drawn here, not in the fiber: a std::mt19937 alone is 5 KiB, a third of a fiber's stack.
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> delay_us(0, 5000);
  std::vector<std::chrono::microseconds> delays;
  for (int i = 0; i < n; ++i) delays.emplace_back(delay_us(rng));
  std::atomic<int> done{0};
  std::atomic<int> woke_early{0};
  pool.run([&] {
    std::vector<boost::fibers::fiber> sleepers;
    sleepers.reserve(n);
    for (const auto delay : delays) {
      sleepers.push_back(spawn([&, delay] {
        const auto deadline = std::chrono::steady_clock::now() + delay;
        boost::this_fiber::sleep_until(deadline);
        if (std::chrono::steady_clock::now() < deadline) woke_early.fetch_add(1);
        done.fetch_add(1);
      }));
    }
    for (auto& f : sleepers) f.join();
  });
  EXPECT_EQ(done.load(), n);
  EXPECT_EQ(woke_early.load(), 0);
}

TEST(FiberPool, WorkSpreadsAcrossWorkers) {
  constexpr int n = 200;
  fiber_pool pool(2);
  std::array<std::atomic<int>, 2> ran_on{};
  // No fiber starts its work before all are spawned: spawning takes fresh stacks from malloc,
  // page faults included, and under ASan the other worker could otherwise run every fiber while
  // the spawning one is still spawning (then the work has spread, but not in the way counted).
  std::atomic<bool> all_spawned{false};
  pool.run([&] {
    std::vector<boost::fibers::fiber> busy;
    for (int i = 0; i < n; ++i) {
      busy.push_back(spawn([&] {
        while (!all_spawned.load()) boost::this_fiber::yield();
        ran_on[static_cast<std::size_t>(current_worker())].fetch_add(1);
        const auto until = std::chrono::steady_clock::now() + 50us;
        while (std::chrono::steady_clock::now() < until) {
        }
      }));
    }
    all_spawned = true;
    for (auto& f : busy) f.join();
  });
  EXPECT_EQ(ran_on[0].load() + ran_on[1].load(), n);
  EXPECT_GT(ran_on[0].load(), 0);
  EXPECT_GT(ran_on[1].load(), 0);
}

TEST(FiberPool, BufferedChannelDeliversAllItemsInOrder) {
  constexpr int n = 20'000;
  fiber_pool pool(2);
  const std::vector<int> got = pool.run([] {
    boost::fibers::buffered_channel<int> ch(8);  // small: producer and consumer block often
    std::vector<int> received;
    boost::fibers::fiber consumer = spawn([&] {
      for (int v : ch) received.push_back(v);  // ends when the channel is closed and drained
    });
    boost::fibers::fiber producer = spawn([&] {
      for (int i = 0; i < n; ++i) ch.push(i);
      ch.close();
    });
    producer.join();
    consumer.join();
    return received;
  });
  ASSERT_EQ(got.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) ASSERT_EQ(got[static_cast<std::size_t>(i)], i);
}

TEST(FiberPool, MutexAndConditionVariableHandOff) {
  constexpr int rounds = 2'000;
  fiber_pool pool(2);
  const std::vector<int> order = pool.run([] {
    boost::fibers::mutex m;
    boost::fibers::condition_variable cv;
    int turn = 0;
    std::vector<int> log;
    auto player = [&](int me) {
      for (int r = 0; r < rounds; ++r) {
        std::unique_lock lk(m);
        cv.wait(lk, [&] { return turn == me; });
        log.push_back(me);
        turn = 1 - me;
        cv.notify_all();
      }
    };
    boost::fibers::fiber a = spawn([&] { player(0); });
    boost::fibers::fiber b = spawn([&] { player(1); });
    a.join();
    b.join();
    return log;
  });
  ASSERT_EQ(order.size(), static_cast<std::size_t>(2 * rounds));
  for (std::size_t i = 0; i < order.size(); ++i) ASSERT_EQ(order[i], static_cast<int>(i % 2));
}

TEST(FiberPool, DestructorWaitsForDetachedFibers) {
  constexpr int n = 100;
  std::atomic<int> done{0};
  {
    fiber_pool pool(2);
    pool.run([&] {
      for (int i = 0; i < n; ++i) {
        spawn([&] {
          boost::this_fiber::sleep_for(2ms);
          done.fetch_add(1);
        }).detach();
      }
    });
  }
  EXPECT_EQ(done.load(), n);
}

TEST(FiberPool, IdleWorkersWakeForTimers) {
  // One sleeper and nothing else to do: the worker must sleep until the deadline and then wake.
  fiber_pool pool(3);
  const auto t0 = std::chrono::steady_clock::now();
  const auto slept = pool.run([] {
    const auto start = std::chrono::steady_clock::now();
    boost::this_fiber::sleep_for(20ms);
    return std::chrono::steady_clock::now() - start;
  });
  EXPECT_GE(slept, 20ms);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 20ms);
}

TEST(FiberPoolPlacement, StayOnMovesTheFiberToEveryWorker) {
  for (unsigned workers = 1; workers <= 4; ++workers) {
    test_support::finishes_within(30s, "stay_on, " + std::to_string(workers) + " workers", [&] {
      fiber_pool pool(workers);
      for (unsigned w = 0; w < workers; ++w) {
        // Where the fiber is right after stay_on, after a yield, after a timer and after a join.
        const std::array<int, 4> seen = pool.run([w] {
          std::array<int, 4> at{};
          stay_on(w);
          at[0] = current_worker();
          boost::this_fiber::yield();
          at[1] = current_worker();
          boost::this_fiber::sleep_for(1ms);
          at[2] = current_worker();
          spawn([] {}).join();
          at[3] = current_worker();
          return at;
        });
        for (int at : seen) EXPECT_EQ(at, static_cast<int>(w)) << workers << " workers";
      }
      // One fiber moved round the workers many times: every move goes through the incoming list
      // of a worker that is often asleep.
      constexpr int moves = 2'000;
      const int misplaced = pool.run([workers] {
        int wrong = 0;
        for (int i = 0; i < moves; ++i) {
          const unsigned w = static_cast<unsigned>(i) % workers;
          stay_on(w);
          wrong += current_worker() == static_cast<int>(w) ? 0 : 1;
        }
        return wrong;
      });
      EXPECT_EQ(misplaced, 0) << workers << " workers";
    });
  }
}

TEST(FiberPoolPlacement, StayOnRejectsAMissingWorker) {
  EXPECT_THROW(stay_on(0), std::logic_error);  // not on a pool worker
  fiber_pool pool(2);
  const std::array<bool, 2> threw = pool.run([] {
    std::array<bool, 2> t{};
    for (const unsigned w : {2u, std::numeric_limits<unsigned>::max()}) {
      try {
        stay_on(w);
      } catch (const std::invalid_argument&) {
        t[w == 2u ? 0 : 1] = true;
      }
    }
    return t;
  });
  EXPECT_TRUE(threw[0]);
  EXPECT_TRUE(threw[1]);
}

// Two fibers placed on workers 0 and 1 play ping-pong; a third worker has nothing placed, so it
// spins and steals: the unplaced fibers that a fourth fiber fans out now and then, and never a
// player. After every wake-up each player records where it runs.
TEST(FiberPoolPlacement, PlacedFibersRunOnTheirHomeAfterEveryWake) {
  constexpr int rounds = 10'000;
  test_support::finishes_within(60s, "placed ping-pong", [&] {
    fiber_pool pool(3);
    std::vector<int> ping_seen(rounds, -2);
    std::vector<int> pong_seen(rounds, -2);
    std::atomic<int> fan_outs{0};
    pool.run([&] {
      boost::fibers::buffered_channel<int> ping(2);
      boost::fibers::buffered_channel<int> pong(2);
      std::atomic<bool> done{false};
      boost::fibers::fiber a = spawn([&] {
        stay_on(0);
        int v = 0;
        for (int i = 0; i < rounds; ++i) {
          ping.push(i);
          pong.pop(v);
          ping_seen[static_cast<std::size_t>(i)] = current_worker();
        }
      });
      boost::fibers::fiber b = spawn([&] {
        stay_on(1);
        int v = 0;
        for (int i = 0; i < rounds; ++i) {
          ping.pop(v);
          pong_seen[static_cast<std::size_t>(i)] = current_worker();
          pong.push(v);
        }
      });
      boost::fibers::fiber churn = spawn([&] {
        while (!done.load()) {
          fan_out(20, 3);
          fan_outs.fetch_add(1);
          boost::this_fiber::sleep_for(100us);  // light: hops, not the churn, should dominate
        }
      });
      a.join();
      b.join();
      done = true;
      churn.join();
    });
    EXPECT_EQ(std::count(ping_seen.begin(), ping_seen.end(), 0), rounds);
    EXPECT_EQ(std::count(pong_seen.begin(), pong_seen.end(), 1), rounds);
    EXPECT_GT(fan_outs.load(), 0);
  });
}

// A ring of K fibers, unit u placed on worker u % W, passes a counter round `laps` times: each
// hop wakes the next unit, on another worker whenever W > 1. A lost wake-up hangs the ring.
TEST(FiberPoolPlacement, RingOfPlacedFibersPassesTheCounter) {
  constexpr int laps = 1'000;
  for (const unsigned workers : {2u, 3u}) {
    for (const unsigned k : {2u, 3u, 17u}) {
      const std::string name =
          "ring of " + std::to_string(k) + " on " + std::to_string(workers) + " workers";
      test_support::finishes_within(60s, name, [&] {
        fiber_pool pool(workers);
        std::vector<int> misplaced(k, -1);
        const int final_count = pool.run([&] {
          std::vector<std::unique_ptr<boost::fibers::buffered_channel<int>>> in;
          for (unsigned u = 0; u < k; ++u)
            in.push_back(std::make_unique<boost::fibers::buffered_channel<int>>(2));
          std::vector<boost::fibers::fiber> units;
          for (unsigned u = 0; u < k; ++u) {
            units.push_back(spawn([&, u] {
              const unsigned home = u % workers;
              stay_on(home);
              int wrong = 0;
              int v = 0;
              for (int lap = 0; lap < laps; ++lap) {
                in[u]->pop(v);
                wrong += current_worker() == static_cast<int>(home) ? 0 : 1;
                in[(u + 1) % k]->push(v + 1);
              }
              misplaced[u] = wrong;
            }));
          }
          in[0]->push(0);
          for (auto& f : units) f.join();
          int v = -1;
          in[0]->pop(v);  // the last unit's last push, never popped by unit 0
          return v;
        });
        EXPECT_EQ(final_count, laps * static_cast<int>(k)) << name;
        for (int wrong : misplaced) EXPECT_EQ(wrong, 0) << name;
      });
    }
  }
}

// Readiness waits on the pool's own reactor (wait_ready).
using test_support::pipe_pair;

int read_byte(int fd) {
  for (;;) {
    unsigned char b;
    const ssize_t n = ::read(fd, &b, 1);
    if (n == 1) return b;
    EXPECT_TRUE(n < 0 && errno == EAGAIN);
    wait_ready(fd, EPOLLIN);
  }
}

void write_byte(int fd, unsigned char b) {
  for (;;) {
    if (::write(fd, &b, 1) == 1) return;
    EXPECT_EQ(errno, EAGAIN);
    wait_ready(fd, EPOLLOUT);
  }
}

TEST(FiberReadiness, ResumesWhenAnotherThreadMakesThePipeReadable) {
  for (unsigned w : {1u, 2u, 3u}) {
    fiber_pool pool(w);
    pipe_pair p;
    std::thread writer([&] {
      std::this_thread::sleep_for(5ms);
      const unsigned char b = 0x5a;
      EXPECT_EQ(::write(p.write_end, &b, 1), 1);
    });
    EXPECT_EQ(pool.run([&] { return read_byte(p.read_end); }), 0x5a) << w << " workers";
    writer.join();
  }
}

// A relay of fibers: fiber i waits on pipe i and passes the byte, plus one, to pipe i+1, so
// every hop is a readiness wake-up of a fiber parked before its byte came.
TEST(FiberReadiness, ARelayThroughAHundredPipesWakesEveryFiberInTurn) {
  constexpr int n = 100;
  for (unsigned w : {1u, 2u, 3u}) {
    fiber_pool pool(w);
    for (int run = 0; run < 3; ++run) {
      std::vector<std::unique_ptr<pipe_pair>> pipes;
      for (int i = 0; i <= n; ++i) pipes.push_back(std::make_unique<pipe_pair>());
      const int last = pool.run([&] {
        std::vector<boost::fibers::fiber> relays;
        for (int i = 0; i < n; ++i)
          relays.push_back(spawn([&, i] {
            write_byte(pipes[i + 1]->write_end,
                       static_cast<unsigned char>(read_byte(pipes[i]->read_end) + 1));
          }));
        write_byte(pipes[0]->write_end, 7);
        const int b = read_byte(pipes[n]->read_end);
        for (auto& f : relays) f.join();
        return b;
      });
      EXPECT_EQ(last, 7 + n) << w << " workers, run " << run;
    }
  }
}

// One worker that never runs out of ready fibers (one keeps yielding) still polls the reactor,
// when its dispatcher runs: the fiber waiting on the pipe is woken and stops the busy one.
TEST(FiberReadiness, ABusyWorkerStillPollsForReadiness) {
  fiber_pool pool(1);
  pipe_pair p;
  std::atomic<bool> started{false}, got{false};
  std::atomic<long> spins{0};
  // Without the busy worker's poll this run would never end.
  test_support::finishes_within(std::chrono::seconds(30), "busy fiber worker polling", [&] {
    pool.run([&] {
      auto waiter = spawn([&] {
        started = true;  // from here to parking in wait_ready it does not yield
        EXPECT_EQ(read_byte(p.read_end), 1);
        got = true;
      });
      auto busy = spawn([&] {
        while (!started.load()) boost::this_fiber::yield();
        boost::this_fiber::yield();  // the waiter is parked on the reactor now
        const unsigned char b = 1;
        EXPECT_EQ(::write(p.write_end, &b, 1), 1);  // ready at once; the worker is never idle
        while (!got.load()) {
          boost::this_fiber::yield();
          spins.fetch_add(1);
        }
      });
      waiter.join();
      busy.join();
    });
  });
  EXPECT_TRUE(got.load());
  EXPECT_GT(spins.load(), 0);
}

// A worker asleep in epoll_wait is woken for other work: a fiber made ready from another thread
// (through a fiber condition variable) then makes the pipe ready for the one waiting on it.
TEST(FiberReadiness, AWakeUpFromOutsideReachesAWorkerSleepingOnTheReactor) {
  for (unsigned w : {1u, 2u}) {
    fiber_pool pool(w);
    pipe_pair p;
    std::mutex m;
    boost::fibers::condition_variable_any cv;
    bool go = false;
    std::thread outside([&] {
      std::this_thread::sleep_for(5ms);
      std::lock_guard lk(m);
      go = true;
      cv.notify_one();
    });
    const int b = pool.run([&] {
      auto poster = spawn([&] {
        {
          std::unique_lock lk(m);
          cv.wait(lk, [&] { return go; });
        }
        write_byte(p.write_end, 9);
      });
      const int got = read_byte(p.read_end);
      poster.join();
      return got;
    });
    EXPECT_EQ(b, 9) << w << " workers";
    outside.join();
  }
}

// Fibers woken by readiness run in the order their events came, not newest first as the pool's
// LIFO deque would run them: on one worker, a driver fiber that never yields makes 50 pipes
// readable in turn, and the 50 fibers parked on them record the order they ran in.
TEST(FiberReadiness, FibersWokenByReadinessRunInTheOrderTheirEventsCame) {
  constexpr int n = 50;  // within one poll's batch
  fiber_pool pool(1);
  std::vector<std::unique_ptr<pipe_pair>> pipes;
  for (int i = 0; i < n; ++i) pipes.push_back(std::make_unique<pipe_pair>());
  const std::vector<int> order = pool.run([&] {
    std::vector<int> ran;
    std::atomic<int> parked{0};
    std::vector<boost::fibers::fiber> waiters;
    for (int i = 0; i < n; ++i)
      waiters.push_back(spawn([&, i] {
        parked.fetch_add(1);  // from here to parking in wait_ready it does not yield
        EXPECT_EQ(read_byte(pipes[i]->read_end), i);
        ran.push_back(i);
      }));
    while (parked.load() != n) boost::this_fiber::yield();
    boost::this_fiber::yield();  // the last one has parked now
    for (int i = 0; i < n; ++i) {
      const auto b = static_cast<unsigned char>(i);
      EXPECT_EQ(::write(pipes[i]->write_end, &b, 1), 1);
    }
    for (auto& f : waiters) f.join();
    return ran;
  });
  std::vector<int> expected(n);
  for (int i = 0; i < n; ++i) expected[i] = i;
  EXPECT_EQ(order, expected);
}

}  // namespace
}  // namespace cmbench::fibers

namespace {
// Walks down from `from` (a local of the calling fiber) to the painted guard at the bottom of the
// fiber's stack, through untouched stack inside the fiber's own block, and writes one byte into
// it, as an overflow would. Not instrumented: ASan would report the walk past the local's redzone.
__attribute__((no_sanitize("address"))) void damage_stack_guard_below(
    volatile unsigned char* from) {
  volatile unsigned char* p = from;  // volatile: reads the compiler cannot reason away
  std::size_t run = 0;
  while (run < cmbench::fibers::detail::stack_guard_bytes) {
    --p;
    run = *p == cmbench::fibers::detail::stack_guard_pattern ? run + 1 : 0;
  }
  *p = 0;  // p is the guard's lowest byte
}
}  // namespace

TEST(FiberPool, AFiberThatReachesTheEndOfItsStackIsCounted) {
  cmbench::fibers::fiber_pool pool(1);
  EXPECT_EQ(pool.stack_overflows(), 0u);
  pool.run([] {
    cmbench::fibers::spawn([] {
      volatile unsigned char here = 0;
      damage_stack_guard_below(&here);
    }).join();
  });
  // Stacks are given back when the dispatcher reclaims finished fibers, which may be just after
  // run() returns: wait for it (bounded).
  for (int i = 0; i < 1000 && pool.stack_overflows() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(pool.stack_overflows(), 1u);
  for (int i = 0; i < 100; ++i)  // a damaged stack is freed, never handed out again
    pool.run([] { cmbench::fibers::spawn([] {}).join(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(pool.stack_overflows(), 1u);
}
