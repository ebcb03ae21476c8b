// spawn on Boost.Fiber: each node is a fiber that launches a fiber per child and joins them. Child
// first (launch::dispatch), as in fib: no slower here, and fewer stacks live at once.
#include <array>

#include "bench/spawn/spec.hpp"
#include "models/fibers/fiber_pool.hpp"

namespace cmbench::spawn {

namespace {

subtree node(std::uint64_t first, std::uint64_t size, memory_probe& probe) {
  probe.unit_started();
  subtree t{first, 1};
  if (size > 1) {
    const std::uint64_t step = size / fanout;
    std::array<subtree, fanout> results;
    std::array<boost::fibers::fiber, fanout> children;
    for (std::uint64_t i = 0; i < fanout; ++i)
      children[i] = fibers::spawn(
          [&results, &probe, i, first, step] { results[i] = node(first + i * step, step, probe); },
          boost::fibers::launch::dispatch);
    for (auto& f : children) f.join();
    t = combine(results);
  }
  probe.unit_finished();
  return t;
}

class fibers_model final : public model {
 public:
  explicit fibers_model(const cell_env& env) : pool_(env.workers) {}
  // pool.run() starts the root as a fiber, so every node is a fiber.
  subtree run(const spec& s, memory_probe& probe) override {
    return pool_.run([&] { return node(0, s.leaves, probe); });
  }

 private:
  fibers::fiber_pool pool_;
};

}  // namespace

std::unique_ptr<model> make_fibers(const cell_env& env) {
  return std::make_unique<fibers_model>(env);
}

}  // namespace cmbench::spawn
