// The coroutine model's runtime: tasks, fork/join, timers, run() and scheduler lifetimes.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "models/coro/scheduler.hpp"

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
  const tree t = s.run(skynet(0, 100000, &seen, &m));
  EXPECT_EQ(t.sum, 100000ull * 99999 / 2);
  EXPECT_EQ(t.nodes, 111111u);
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
