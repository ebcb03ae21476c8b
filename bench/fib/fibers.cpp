// fib on Boost.Fiber: each fork launches a fiber for fib(n-1); fib(n-2) runs inline in the
// forking fiber, which then joins the child. The child runs first (launch::dispatch) and the
// parent waits ready, to be stolen, as the coroutine model's fork does: measured against
// launch::post in the commit that chose it.
#include "bench/fib/spec.hpp"
#include "models/fibers/fiber_pool.hpp"

namespace cmbench::fib {

namespace {

result call(std::uint64_t n, std::uint64_t cutoff, memory_probe& probe) {
  if (n < cutoff) return {serial_fib(n), 0};
  result forked;
  boost::fibers::fiber child = fibers::spawn(
      [&forked, n, cutoff, &probe] {
        probe.unit_started();
        forked = call(n - 1, cutoff, probe);
        probe.unit_finished();
      },
      boost::fibers::launch::dispatch);
  const result inline_half = call(n - 2, cutoff, probe);
  child.join();
  return combine(forked, inline_half);
}

class fiber_fib final : public model {
 public:
  explicit fiber_fib(const cell_env& env) : pool_(env.workers) {}
  result run(const spec& s, memory_probe& probe) override {
    return pool_.run([&] {  // the root is a fiber too
      probe.unit_started();
      const result r = call(s.n, s.cutoff, probe);
      probe.unit_finished();
      return r;
    });
  }

 private:
  fibers::fiber_pool pool_;
};

}  // namespace

std::unique_ptr<model> make_fibers(const cell_env& env) {
  return std::make_unique<fiber_fib>(env);
}

}  // namespace cmbench::fib
