// cmbench-ref-tbb: fib and skynet written as oneTBB's documentation writes them, with nothing of
// cmbench linked in; scripts/lib/calibrate.py sets them beside the fib/tbb and spawn/tbb cells.
//
// fib(n): a task_group per call that forks fib(n-1) with run(), computes fib(n-2) inline and
// waits (the Fibonacci example of oneTBB's task_group documentation), forking on every call with
// n >= 2: the shape of bench/fib/spec.hpp at cutoff 2, forks(n) = 1 + forks(n-1) + forks(n-2).
// skynet(leaves): every inner node runs its 10 children in its task_group and waits; leaf i
// returns i (bench/spawn/spec.hpp's tree). In both the root is a task too, as in the cells, so the
// units are the same: fib's forks plus the root, skynet's nodes.
//
// --count=0 leaves the unit counting out (only the value is carried up and checked): the cost of
// the bookkeeping the cells always do.
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <array>

#include "bench/calibrate/reference.hpp"

namespace {

using namespace cmbench::calibrate;

// A call's value and, when counting, the units made under it.
struct counted {
  std::uint64_t value = 0;
  std::uint64_t units = 0;
};

template <bool Count>
counted fib(std::uint64_t n) {
  if (n < 2) return {n, 0};
  counted x, y;
  oneapi::tbb::task_group tg;
  tg.run([&] { x = fib<Count>(n - 1); });
  y = fib<Count>(n - 2);
  tg.wait();
  if constexpr (Count) return {x.value + y.value, 1 + x.units + y.units};
  return {x.value + y.value, 0};
}

constexpr std::uint64_t fanout = skynet_fanout;

template <bool Count>
counted skynet(std::uint64_t first, std::uint64_t size) {
  if (size == 1) return {first, Count ? 1u : 0u};
  std::array<counted, fanout> children;
  const std::uint64_t step = size / fanout;
  oneapi::tbb::task_group tg;
  for (std::uint64_t i = 0; i < fanout; ++i)
    tg.run([&children, i, first, step] { children[i] = skynet<Count>(first + i * step, step); });
  tg.wait();
  counted t{0, Count ? 1u : 0u};
  for (const counted& c : children) {
    t.value += c.value;
    t.units += c.units;
  }
  return t;
}

// Runs `root` as a task in the arena and returns what it computed.
template <class Root>
counted as_task(oneapi::tbb::task_arena& arena, Root root) {
  counted out;
  arena.execute([&] {
    oneapi::tbb::task_group tg;
    tg.run([&] { out = root(); });
    tg.wait();
  });
  return out;
}

std::uint64_t serial_fib(std::uint64_t n) {
  std::uint64_t a = 0, b = 1;
  for (std::uint64_t i = 0; i < n; ++i) b = std::exchange(a, b) + b;
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  const command_line cl(
      argc, argv, "cmbench-ref-tbb",
      {{"workers", "1"}, {"repetitions", "3"}, {"count", "1"}, {"n", ""}, {"leaves", ""}});
  const auto workers = static_cast<unsigned>(cl.number("workers", 1, 1024));
  const std::uint64_t reps = cl.number("repetitions", 1, 1000);
  const bool count = cl.number("count", 0, 1) == 1;
  if (!cl.given("n") && !cl.given("leaves"))
    cl.fail("give --n=N (fib), --leaves=L (skynet) or both");

  // As models/tbb/arena.hpp: `workers` slots, the main thread taking one, and a global_control so
  // that oneTBB may create that many threads even on a machine with fewer cores.
  oneapi::tbb::global_control limit(oneapi::tbb::global_control::max_allowed_parallelism, workers);
  oneapi::tbb::task_arena arena(static_cast<int>(workers));
  arena.initialize();

  if (cl.given("n")) {
    const std::uint64_t n = cl.number("n", 0, 60);
    const std::uint64_t expected = serial_fib(n);
    // forks(n) = fib(n+1) - 1 at cutoff 2 (0 for n < 2); the root task is one more unit.
    const std::uint64_t units = (n < 2 ? 0 : serial_fib(n + 1) - 1) + 1;
    const auto check = [&](const counted& r) {
      if (r.value != expected)
        wrong_result("tbb_fib", "fib(" + std::to_string(n) + ") = " + std::to_string(r.value) +
                                    ", expected " + std::to_string(expected));
      if (count && r.units + 1 != units)
        wrong_result("tbb_fib",
                     std::to_string(r.units + 1) + " units, expected " + std::to_string(units));
    };
    const std::vector<double> seconds = timed_repetitions(
        reps,
        [&] {
          return count ? as_task(arena, [n] { return fib<true>(n); })
                       : as_task(arena, [n] { return fib<false>(n); });
        },
        check);
    json_line("tbb_fib")
        .number("n", n)
        .number("cutoff", 2)
        .number("workers", workers)
        .flag("counted", count)
        .numbers("seconds", seconds)
        .number("units", units)
        .number("result", expected)
        .print();
  }

  if (cl.given("leaves")) {
    const skynet_tree tree = skynet_from(cl);
    const std::uint64_t leaves = tree.leaves, expected = tree.sum, nodes = tree.nodes;
    const auto check = [&](const counted& r) {
      if (r.value != expected)
        wrong_result("tbb_skynet",
                     "sum " + std::to_string(r.value) + ", expected " + std::to_string(expected));
      if (count && r.units != nodes)
        wrong_result("tbb_skynet",
                     std::to_string(r.units) + " nodes, expected " + std::to_string(nodes));
    };
    const std::vector<double> seconds = timed_repetitions(
        reps,
        [&] {
          return count ? as_task(arena, [leaves] { return skynet<true>(0, leaves); })
                       : as_task(arena, [leaves] { return skynet<false>(0, leaves); });
        },
        check);
    json_line("tbb_skynet")
        .number("leaves", leaves)
        .number("workers", workers)
        .flag("counted", count)
        .numbers("seconds", seconds)
        .number("units", nodes)
        .number("result", expected)
        .print();
  }
  return 0;
}
