// cmbench-ref-boost-fiber: skynet as Boost.Fiber's own performance/fiber/skynet_stealing_join.cpp
// runs it, with nothing of cmbench linked in; scripts/lib/calibrate.py sets it beside the
// spawn/fibers cell. Every node is a fiber launched with launch::dispatch (the parent yields to
// its child at once) that launches a fiber per child and joins them; leaf i returns i
// (bench/spawn/spec.hpp's tree). `workers` threads, the main one among them, each registered with
// algo::work_stealing.
//
// Boost's example collects the children's sums through a channel; we let each child write its
// slot and read it after join(), as the spawn/fibers cell does, so the comparison is of the
// scheduler and not of a channel. The stacks are fixedsize_stack of 16 KiB, the fiber pool's stack
// size (models/fibers/fiber_pool.hpp), where Boost's example takes two pages.
//
// The trap: work_stealing's shared state is built once per process for a thread count, so one
// process measures one worker count; the repetitions run inside it.
#include <malloc.h>

#include <array>
#include <boost/fiber/all.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "bench/calibrate/reference.hpp"

namespace {

using namespace cmbench::calibrate;

constexpr std::uint64_t fanout = skynet_fanout;
constexpr std::size_t stack_bytes = 16 * 1024;

struct counted {
  std::uint64_t value = 0;
  std::uint64_t units = 0;
};

counted skynet(boost::fibers::fixedsize_stack& stacks, std::uint64_t first, std::uint64_t size) {
  if (size == 1) return {first, 1};
  std::array<counted, fanout> children;
  std::array<boost::fibers::fiber, fanout> fibers;
  const std::uint64_t step = size / fanout;
  for (std::uint64_t i = 0; i < fanout; ++i)
    fibers[i] = boost::fibers::fiber(boost::fibers::launch::dispatch, std::allocator_arg, stacks,
                                     [&stacks, &children, i, first, step] {
                                       children[i] = skynet(stacks, first + i * step, step);
                                     });
  for (boost::fibers::fiber& f : fibers) f.join();
  counted t{0, 1};
  for (const counted& c : children) {
    t.value += c.value;
    t.units += c.units;
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  const command_line cl(argc, argv, "cmbench-ref-boost-fiber",
                        {{"workers", "1"}, {"repetitions", "3"}, {"leaves", ""}});
  const auto workers = static_cast<std::uint32_t>(cl.number("workers", 1, 1024));
  const std::uint64_t reps = cl.number("repetitions", 1, 1000);
  const skynet_tree tree = skynet_from(cl);
  const std::uint64_t leaves = tree.leaves, expected = tree.sum, nodes = tree.nodes;

  // Every worker, the main thread last, registers with the scheduler; work_stealing's constructor
  // waits until all `workers` threads have (Boost 1.74: a barrier inside it, so registering the
  // main thread first, as Boost's example does, would wait forever). The others then sleep in a
  // fiber-aware wait until the main thread is done, their dispatchers stealing meanwhile. All of
  // it before the timing.
  std::mutex mtx;
  boost::fibers::condition_variable_any done_cv;
  bool done = false;
  std::vector<std::thread> threads;
  for (std::uint32_t i = 1; i < workers; ++i)
    threads.emplace_back([&] {
      boost::fibers::use_scheduling_algorithm<boost::fibers::algo::work_stealing>(workers);
      std::unique_lock lk(mtx);
      done_cv.wait(lk, [&] { return done; });
    });
  boost::fibers::use_scheduling_algorithm<boost::fibers::algo::work_stealing>(workers);

  // fixedsize_stack mallocs every fiber's stack. By default glibc hands the top of the heap back to
  // the kernel as soon as it frees 128 KiB there, so the next stacks fault their pages in again:
  // measured here, 1 worker, 10 000 leaves, 180 ms a run against 20 ms with trimming off. The
  // fiber pool keeps freed stacks per worker (models/fibers/fiber_pool.hpp); without this the
  // row would compare glibc's trimming, not the scheduler. (pooled_fixedsize_stack is no way out:
  // its pool is not thread-safe, and work stealing frees stacks on other threads.)
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  boost::fibers::fixedsize_stack stacks(stack_bytes);
  const auto check = [&](const counted& r) {
    if (r.value != expected)
      wrong_result("boost_fiber_skynet",
                   "sum " + std::to_string(r.value) + ", expected " + std::to_string(expected));
    if (r.units != nodes)
      wrong_result("boost_fiber_skynet",
                   std::to_string(r.units) + " nodes, expected " + std::to_string(nodes));
  };
  const std::vector<double> seconds = timed_repetitions(
      reps, [&] { return skynet(stacks, 0, leaves); }, check);

  {
    std::lock_guard lk(mtx);
    done = true;
  }
  done_cv.notify_all();
  for (std::thread& t : threads) t.join();

  json_line("boost_fiber_skynet")
      .number("leaves", leaves)
      .number("workers", workers)
      .numbers("seconds", seconds)
      .number("units", nodes)
      .number("result", expected)
      .print();
  return 0;
}
