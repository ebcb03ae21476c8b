// fib on coroutines: each fork is coro::fork of fib(n-1); fib(n-2) is awaited inline (a call in
// the same unit, not a new one); join() waits for the fork.
#include "bench/fib/spec.hpp"
#include "models/coro/scheduler.hpp"

namespace cmbench::fib {

namespace {

// `unit`: this call is a forked unit (or the root), which the probe counts.
coro::task<result> call(std::uint64_t n, std::uint64_t cutoff, memory_probe& probe, bool unit) {
  if (unit) probe.unit_started();
  result r;
  if (n < cutoff) {
    r = {serial_fib(n), 0};
  } else {
    result forked;
    co_await coro::fork(forked, call(n - 1, cutoff, probe, true));
    const result inline_half = co_await call(n - 2, cutoff, probe, false);
    co_await coro::join();
    r = combine(forked, inline_half);
  }
  if (unit) probe.unit_finished();
  co_return r;
}

class coro_fib final : public model {
 public:
  explicit coro_fib(const cell_env& env) : sched_(env.workers) {}
  result run(const spec& s, memory_probe& probe) override {
    return sched_.run(call(s.n, s.cutoff, probe, true));  // the root is a task too
  }

 private:
  coro::scheduler sched_;
};

}  // namespace

std::unique_ptr<model> make_coro(const cell_env& env) {
  return std::make_unique<coro_fib>(env);
}

}  // namespace cmbench::fib
