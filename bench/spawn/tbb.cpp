// spawn on oneTBB: each node is a task; it runs a task per child in its own task_group and waits,
// the recursive pattern oneTBB documents (the waiting thread executes tasks meanwhile).
#include <oneapi/tbb/task_group.h>

#include <array>

#include "bench/spawn/spec.hpp"
#include "models/tbb/arena.hpp"

namespace cmbench::spawn {

namespace {

subtree node(std::uint64_t first, std::uint64_t size, memory_probe& probe) {
  probe.unit_started();
  subtree t{first, 1};
  if (size > 1) {
    const std::uint64_t step = size / fanout;
    std::array<subtree, fanout> results;
    oneapi::tbb::task_group group;
    for (std::uint64_t i = 0; i < fanout; ++i)
      group.run(
          [&results, &probe, i, first, step] { results[i] = node(first + i * step, step, probe); });
    group.wait();
    t = combine(results);
  }
  probe.unit_finished();
  return t;
}

class task_group_tree final : public model {
 public:
  explicit task_group_tree(const cell_env& env) : arena_(env.workers) {}
  subtree run(const spec& s, memory_probe& probe) override {
    subtree root;
    arena_.slots.execute([&] {
      // The root is a task too, so every node is a unit the scheduler created.
      oneapi::tbb::task_group group;
      group.run([&] { root = node(0, s.leaves, probe); });
      group.wait();
    });
    return root;
  }

 private:
  tbb_model::arena arena_;
};

}  // namespace

std::unique_ptr<model> make_tbb(const cell_env& env) {
  return std::make_unique<task_group_tree>(env);
}

}  // namespace cmbench::spawn
