// fib on oneTBB: each fork is task_group::run of fib(n-1); fib(n-2) runs inline; wait() joins,
// executing other tasks meanwhile (the fib example of oneTBB's documentation).
#include <oneapi/tbb/task_group.h>

#include "bench/fib/spec.hpp"
#include "models/tbb/arena.hpp"

namespace cmbench::fib {

namespace {

result call(std::uint64_t n, std::uint64_t cutoff, memory_probe& probe) {
  if (n < cutoff) return {serial_fib(n), 0};
  result forked;
  oneapi::tbb::task_group group;
  group.run([&forked, n, cutoff, &probe] {
    probe.unit_started();
    forked = call(n - 1, cutoff, probe);
    probe.unit_finished();
  });
  const result inline_half = call(n - 2, cutoff, probe);
  group.wait();
  return combine(forked, inline_half);
}

class task_group_fib final : public model {
 public:
  explicit task_group_fib(const cell_env& env) : arena_(env.workers) {}
  result run(const spec& s, memory_probe& probe) override {
    result root;
    arena_.slots.execute([&] {
      oneapi::tbb::task_group group;  // the root is a task too
      group.run([&] {
        probe.unit_started();
        root = call(s.n, s.cutoff, probe);
        probe.unit_finished();
      });
      group.wait();
    });
    return root;
  }

 private:
  tbb_model::arena arena_;
};

}  // namespace

std::unique_ptr<model> make_tbb(const cell_env& env) {
  return std::make_unique<task_group_fib>(env);
}

}  // namespace cmbench::fib
