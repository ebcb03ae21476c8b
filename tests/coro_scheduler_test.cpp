// The coroutine model's runtime: tasks, fork/join, timers, readiness waits, run() and scheduler
// lifetimes.
#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <coroutine>
#include <exception>
#include <memory>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "models/coro/scheduler.hpp"
#include "tests/finishes_within.hpp"
#include "tests/pipe_pair.hpp"

namespace coro = cmbench::coro;
using namespace std::chrono_literals;

namespace {

coro::task<int> forty_two() {
  co_return 42;
}
coro::task<int> add_one(int x) {
  co_return co_await forty_two() + x - 42 + 1;
}
coro::task<int> throws() {
  throw std::runtime_error("boom");
  co_return 0;
}
coro::task<int> catches() {
  try {
    co_await throws();
  } catch (const std::runtime_error& e) {
    co_return std::string(e.what()) == "boom" ? 1 : 2;
  }
  co_return 3;
}

coro::task<long> fib(int n) {
  if (n < 2) co_return n;
  long a = 0;
  co_await coro::fork(a, fib(n - 1));
  const long b = co_await fib(n - 2);
  co_await coro::join();
  co_return a + b;
}

struct tree {
  std::uint64_t sum = 0, nodes = 0;
};
coro::task<tree> skynet(std::uint64_t first, std::uint64_t size, std::set<int>* seen,
                        std::mutex* m) {
  if (seen) {
    std::lock_guard lk(*m);
    seen->insert(coro::scheduler::current_worker());
  }
  if (size == 1) co_return tree{first, 1};
  std::array<tree, 10> r;
  for (std::uint64_t i = 0; i < 10; ++i)
    co_await coro::fork(r[i], skynet(first + i * size / 10, size / 10, seen, m));
  co_await coro::join();
  tree t{0, 1};
  for (auto& c : r) {
    t.sum += c.sum;
    t.nodes += c.nodes;
  }
  co_return t;
}

}  // namespace

TEST(CoroTask, ReturnsValueThroughAwait) {
  coro::scheduler s(1);
  EXPECT_EQ(s.run(add_one(5)), 6);
}

TEST(CoroTask, PropagatesExceptions) {
  coro::scheduler s(2);
  EXPECT_EQ(s.run(catches()), 1);
  EXPECT_THROW(s.run(throws()), std::runtime_error);
}

TEST(CoroForkJoin, FibIsRightOnAnyWorkerCount) {
  for (unsigned w : {1u, 2u, 3u, 4u}) {
    coro::scheduler s(w);
    EXPECT_EQ(s.run(fib(20)), 6765) << w << " workers";
  }
}

TEST(CoroForkJoin, SkynetCountsEveryNodeAndSpreadsOverWorkers) {
  coro::scheduler s(2);
  std::set<int> seen;
  std::mutex m;
  // A run takes a few milliseconds: on a loaded machine the second worker may not get a core
  // before it ends, so up to ten runs, each checked, must between them see both workers run
  // nodes (with stealing broken, none would).
  for (int run = 0; run < 10 && seen.size() < 2; ++run) {
    const tree t = s.run(skynet(0, 100000, &seen, &m));
    EXPECT_EQ(t.sum, 100000ull * 99999 / 2);
    EXPECT_EQ(t.nodes, 111111u);
  }
  EXPECT_EQ(seen, (std::set<int>{0, 1}));  // both workers ran nodes
}

TEST(CoroForkJoin, RepeatedRunsOnOneScheduler) {
  coro::scheduler s(2);
  for (int i = 0; i < 200; ++i) ASSERT_EQ(s.run(fib(12)), 144);
}

TEST(CoroScheduler, ManySchedulersCreatedAndDestroyed) {
  for (int i = 0; i < 50; ++i) {
    coro::scheduler s(1 + i % 4);
    ASSERT_EQ(s.run(fib(10)), 55);
  }
}

// The frame cache is a plain thread-local with no destructor of its own; what a thread cached must
// still go back to the heap when the thread ends, or every scheduler's threads would leak frames.
TEST(CoroFrameCache, AThreadsCachedFramesGoBackToTheHeapWhenItEnds) {
  if (CMBENCH_ADDRESS_SANITIZER) GTEST_SKIP() << "ASan's allocator does not report mallinfo2";
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "TSan's allocator does not report mallinfo2";
#endif
  constexpr int frames = 1000;
  constexpr std::size_t size = 200;  // 200 kB cached in all
  const auto in_use = [] { return static_cast<std::int64_t>(::mallinfo2().uordblks); };
  const std::int64_t before = in_use();
  std::int64_t while_cached = 0;
  std::thread([&] {
    auto& cache = coro::detail::this_thread_frames;
    std::vector<void*> p(frames);
    for (void*& f : p) f = cache.allocate(size);
    for (void* f : p) cache.deallocate(f, size);
    while_cached = in_use();
  }).join();
  const std::int64_t after = in_use();
  EXPECT_GE(while_cached - before, frames * static_cast<std::int64_t>(size));  // it did cache them
  EXPECT_LT(after - before, 20'000) << "cached frames outlived their thread";
}

// A class serves any frame up to its capacity, and wastes less than one 16-byte step of it.
TEST(CoroFrameCache, SizeClassesFollowMallocsChunks) {
  using cache = coro::detail::frame_cache;
  EXPECT_EQ(cache::capacity(cache::class_of(96)), 104u);   // a 96-byte frame: a 112-byte chunk
  EXPECT_EQ(cache::capacity(cache::class_of(104)), 104u);
  EXPECT_EQ(cache::capacity(cache::class_of(105)), 120u);
  EXPECT_EQ(cache::capacity(cache::class_of(8)), 8u);
  for (std::size_t s = 1; s < 1016; ++s) {
    ASSERT_GE(cache::capacity(cache::class_of(s)), s);
    ASSERT_LT(cache::capacity(cache::class_of(s)), s + 16);
  }
}

TEST(CoroScheduler, RejectsZeroWorkers) {
  EXPECT_THROW(coro::scheduler(0), std::invalid_argument);
}

namespace {
coro::task<> sleep_and_log(std::chrono::milliseconds d, std::vector<int>& order, std::mutex& m,
                           int id) {
  const auto deadline = coro::clock::now() + d;
  co_await coro::sleep_until(deadline);
  EXPECT_GE(coro::clock::now(), deadline);  // never early
  std::lock_guard lk(m);
  order.push_back(id);
}
coro::task<> sleepers(std::vector<int>& order, std::mutex& m) {
  co_await coro::fork(sleep_and_log(60ms, order, m, 3));
  co_await coro::fork(sleep_and_log(0ms, order, m, 1));
  co_await coro::fork(sleep_and_log(30ms, order, m, 2));
  co_await coro::join();
}
coro::task<int> many_sleepers(int n, std::atomic<int>& done) {
  for (int i = 0; i < n; ++i)
    co_await coro::fork([](int i, std::atomic<int>& done) -> coro::task<> {
      co_await coro::sleep_for(std::chrono::microseconds(i % 2000));
      done.fetch_add(1);
    }(i, done));
  co_await coro::join();
  co_return done.load();
}
}  // namespace

TEST(CoroTimers, WakeInDeadlineOrderAndNeverEarly) {
  coro::scheduler s(2);
  std::vector<int> order;
  std::mutex m;
  s.run(sleepers(order, m));
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(CoroTimers, TenThousandConcurrentSleepersAllWake) {
  for (unsigned w : {1u, 2u}) {
    coro::scheduler s(w);
    std::atomic<int> done{0};
    EXPECT_EQ(s.run(many_sleepers(10000, done)), 10000);
  }
}

namespace {
// co_await on_worker{s, w}: continue on worker w (post_to), unless already there.
struct on_worker {
  coro::scheduler& s;
  unsigned w;
  bool await_ready() const noexcept { return coro::scheduler::current_worker() == int(w); }
  CMBENCH_CORO_HANDS_OFF void await_suspend(std::coroutine_handle<> h) { s.post_to(w, h); }
  void await_resume() const noexcept {}
};
// co_await yield_by_post{s}: go to the back of the scheduler's injection queue.
struct yield_by_post {
  coro::scheduler& s;
  bool await_ready() const noexcept { return false; }
  CMBENCH_CORO_HANDS_OFF void await_suspend(std::coroutine_handle<> h) { s.post(h); }
  void await_resume() const noexcept {}
};
}  // namespace

// Timers live on the worker that ran the sleeping coroutine. That worker here never returns to its
// loop (a coroutine spins on it), so only the other worker, idle, can take the expired timer from
// its heap. Without that steal the run never ends.
TEST(CoroTimers, AnIdleWorkerRunsTheExpiredTimersOfABusyOne) {
  coro::scheduler s(2);
  std::atomic<bool> woke{false};
  int slept_on = -1, woke_on = -1;
  auto sleeper = [&]() -> coro::task<> {
    slept_on = coro::scheduler::current_worker();
    co_await coro::sleep_for(1ms);
    woke_on = coro::scheduler::current_worker();
    woke.store(true);
  };
  auto body = [&]() -> coro::task<> {
    co_await on_worker{s, 0};
    co_await coro::fork(sleeper());  // runs at once, here, and sleeps on worker 0's heap
    co_await on_worker{s, 0};        // the continuation may have been stolen: back to 0
    while (!woke.load()) std::this_thread::yield();  // worker 0 never looks at its timers
    co_await coro::join();
  };
  cmbench::test_support::finishes_within(std::chrono::seconds(20), "stolen timer",
                                         [&] { s.run(body()); });
  EXPECT_EQ(slept_on, 0);
  EXPECT_EQ(woke_on, 1);
}

// A coroutine that keeps posting itself never leaves the injection queue empty; the worker still
// runs the expired timer (its timers-first turn), which ends the loop. Without that turn this
// one-worker run never ends.
TEST(CoroTimers, ASleeperWakesWhileAnotherCoroutineKeepsPostingItself) {
  coro::scheduler s(1);
  std::atomic<bool> woke{false};
  long yields = 0;
  auto sleeper = [&]() -> coro::task<> {
    co_await coro::sleep_for(1ms);
    woke.store(true);
  };
  auto poster = [&]() -> coro::task<> {
    while (!woke.load()) {
      co_await yield_by_post{s};
      ++yields;
    }
  };
  auto both = [&]() -> coro::task<> {
    co_await coro::fork(sleeper());
    co_await coro::fork(poster());
    co_await coro::join();
  };
  cmbench::test_support::finishes_within(std::chrono::seconds(20), "timer behind posts",
                                         [&] { s.run(both()); });
  EXPECT_TRUE(woke.load());
  EXPECT_GT(yields, 0);
}

namespace {
// Parks until another (non-worker) thread posts it back.
struct external_resume {
  std::thread* t;
  coro::scheduler* s;
  bool await_ready() { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    *t = std::thread([h, this] {
      std::this_thread::sleep_for(5ms);
      s->post(h);
    });
  }
  void await_resume() {}
};
coro::task<int> wait_for_outside(coro::scheduler& s, std::thread& t) {
  co_await external_resume{&t, &s};
  co_return 7;
}
}  // namespace

TEST(CoroScheduler, PostFromAnotherThreadResumes) {
  coro::scheduler s(2);
  std::thread t;
  EXPECT_EQ(s.run(wait_for_outside(s, t)), 7);
  t.join();
}

namespace {
// A coroutine that starts where it is resumed and frees its frame when it ends.
struct detached {
  struct promise_type {
    detached get_return_object() noexcept {
      return {std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
  std::coroutine_handle<promise_type> h;
};

struct posted_log {
  std::vector<int> order;  // appended only on the target worker
  int elsewhere = 0;
  std::atomic<int> left{0};
};

detached record(posted_log& log, int i, int target) {
  log.order.push_back(i);
  if (coro::scheduler::current_worker() != target) ++log.elsewhere;
  log.left.fetch_sub(1, std::memory_order_release);
  co_return;
}

// Posts n coroutines in a row to the other worker, faster than it runs them, so that both of
// post_to's paths are taken (the one-word hand-off and the locked inbox behind it); waits for them.
coro::task<int> post_to_other(coro::scheduler& s, posted_log& log, int n) {
  const int target = 1 - coro::scheduler::current_worker();
  log.left.store(n, std::memory_order_relaxed);
  for (int i = 0; i < n; ++i) s.post_to(static_cast<unsigned>(target), record(log, i, target).h);
  while (log.left.load(std::memory_order_acquire) != 0) std::this_thread::yield();
  co_return target;
}
}  // namespace

// post_to runs every coroutine on the worker named, none elsewhere, and, from one poster, in the
// order they were posted.
TEST(CoroScheduler, PostToRunsOnTheWorkerNamedInPostingOrder) {
  cmbench::test_support::finishes_within(std::chrono::seconds(60), "post_to", [] {
    for (int run = 0; run < 20; ++run) {
      coro::scheduler s(2);
      posted_log log;
      constexpr int n = 2000;
      s.run(post_to_other(s, log, n));
      ASSERT_EQ(log.order.size(), static_cast<std::size_t>(n)) << "run " << run;
      EXPECT_EQ(log.elsewhere, 0) << "run " << run;
      for (int i = 0; i < n; ++i) ASSERT_EQ(log.order[i], i) << "run " << run;
    }
  });
}

namespace {
using cmbench::test_support::pipe_pair;

// Reads one byte, waiting on the reactor while none is there; returns it.
coro::task<int> read_byte(int fd) {
  for (;;) {
    unsigned char b;
    const ssize_t n = ::read(fd, &b, 1);
    if (n == 1) co_return b;
    EXPECT_TRUE(n < 0 && errno == EAGAIN);
    co_await coro::readable(fd);
  }
}

coro::task<> write_byte(int fd, unsigned char b) {
  for (;;) {
    if (::write(fd, &b, 1) == 1) co_return;
    EXPECT_EQ(errno, EAGAIN);
    co_await coro::writable(fd);
  }
}
}  // namespace

TEST(CoroReadiness, ResumesWhenAnotherThreadMakesThePipeReadable) {
  for (unsigned w : {1u, 2u, 3u}) {
    coro::scheduler s(w);
    pipe_pair p;
    std::thread writer([&] {
      std::this_thread::sleep_for(5ms);
      const unsigned char b = 0x5a;
      EXPECT_EQ(::write(p.write_end, &b, 1), 1);
    });
    EXPECT_EQ(s.run(read_byte(p.read_end)), 0x5a) << w << " workers";
    writer.join();
  }
}

// A relay of coroutines: coroutine i waits on pipe i and passes the byte, plus one, to pipe i+1,
// so every hop is a readiness wake-up of a coroutine parked before its byte came; several runs on
// one scheduler, with 1-3 workers.
TEST(CoroReadiness, ARelayThroughAHundredPipesWakesEveryCoroutineInTurn) {
  constexpr int n = 100;
  for (unsigned w : {1u, 2u, 3u}) {
    coro::scheduler s(w);
    for (int run = 0; run < 3; ++run) {
      std::vector<std::unique_ptr<pipe_pair>> pipes;
      for (int i = 0; i <= n; ++i) pipes.push_back(std::make_unique<pipe_pair>());
      auto relay = [](int in, int out) -> coro::task<> {
        const int b = co_await read_byte(in);
        co_await write_byte(out, static_cast<unsigned char>(b + 1));
      };
      auto all = [&]() -> coro::task<int> {
        for (int i = 0; i < n; ++i)
          co_await coro::fork(relay(pipes[i]->read_end, pipes[i + 1]->write_end));
        co_await write_byte(pipes[0]->write_end, 7);
        const int last = co_await read_byte(pipes[n]->read_end);
        co_await coro::join();
        co_return last;
      };
      EXPECT_EQ(s.run(all()), 7 + n) << w << " workers, run " << run;
    }
  }
}

// One worker that never runs out of ready work (a coroutine that keeps re-posting itself through
// the timer queue) still polls the reactor: the coroutine waiting on the pipe is resumed and
// stops the busy one. Without the busy worker's periodic poll this run would never end.
TEST(CoroReadiness, ABusyWorkerStillPollsForReadiness) {
  coro::scheduler s(1);
  pipe_pair p;
  std::atomic<bool> got{false};
  std::atomic<long> spins{0};
  auto waiter = [&]() -> coro::task<> {
    EXPECT_EQ(co_await read_byte(p.read_end), 1);
    got.store(true);
  };
  auto busy = [&]() -> coro::task<> {
    const unsigned char b = 1;
    EXPECT_EQ(::write(p.write_end, &b, 1), 1);  // ready at once; the worker is never idle
    while (!got.load()) {
      co_await coro::sleep_for(0us);
      spins.fetch_add(1);
    }
  };
  auto both = [&]() -> coro::task<> {
    co_await coro::fork(waiter());
    co_await coro::fork(busy());
    co_await coro::join();
  };
  cmbench::test_support::finishes_within(std::chrono::seconds(30), "busy worker polling",
                                         [&] { s.run(both()); });
  EXPECT_TRUE(got.load());
  EXPECT_GT(spins.load(), 0);
}

// A worker asleep in epoll_wait is woken by a post from outside (through the eventfd), and the
// posted coroutine then makes the pipe ready for the one waiting on it.
TEST(CoroReadiness, APostFromOutsideWakesAWorkerSleepingOnTheReactor) {
  for (unsigned w : {1u, 2u}) {
    coro::scheduler s(w);
    pipe_pair p;
    std::thread t;
    auto poster = [&]() -> coro::task<> {
      co_await external_resume{&t, &s};
      co_await write_byte(p.write_end, 9);
    };
    auto both = [&]() -> coro::task<int> {
      co_await coro::fork(poster());
      const int b = co_await read_byte(p.read_end);
      co_await coro::join();
      co_return b;
    };
    EXPECT_EQ(s.run(both()), 9) << w << " workers";
    t.join();
  }
}
