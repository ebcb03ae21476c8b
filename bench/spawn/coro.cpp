// spawn on coroutines: each node is a task that forks a task per child and joins them.
#include <array>

#include "bench/spawn/spec.hpp"
#include "models/coro/scheduler.hpp"

namespace cmbench::spawn {

namespace {

coro::task<subtree> node(std::uint64_t first, std::uint64_t size, memory_probe& probe) {
  probe.unit_started();
  subtree t{first, 1};
  if (size > 1) {
    const std::uint64_t step = size / fanout;
    std::array<subtree, fanout> results;
    for (std::uint64_t i = 0; i < fanout; ++i)
      co_await coro::fork(results[i], node(first + i * step, step, probe));
    co_await coro::join();
    t = combine(results);
  }
  probe.unit_finished();
  co_return t;
}

class coro_model final : public model {
 public:
  explicit coro_model(const cell_env& env) : sched_(env.workers) {}
  // run() resumes the root as a task on a worker, so every node is a task.
  subtree run(const spec& s, memory_probe& probe) override {
    return sched_.run(node(0, s.leaves, probe));
  }

 private:
  coro::scheduler sched_;
};

}  // namespace

std::unique_ptr<model> make_coro(const cell_env& env) {
  return std::make_unique<coro_model>(env);
}

}  // namespace cmbench::spawn
