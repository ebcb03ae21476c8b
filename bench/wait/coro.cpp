// wait on coroutines: wait_random is a coroutine that co_awaits the scheduler's timer; wait_n
// forks one per delay and joins them, asyncio's gather on a multi-threaded loop.
#include "bench/wait/spec.hpp"
#include "models/coro/scheduler.hpp"

namespace cmbench::wait {

namespace {

coro::task<> wait_random(std::uint32_t delay_us, completion_log& log, memory_probe& probe) {
  probe.unit_started();
  const auto deadline = deadline_after(delay_us);
  co_await coro::sleep_until(deadline);
  log.complete(delay_us, lateness_since(deadline));
  probe.unit_finished();
}

coro::task<> wait_n(const problem& p, completion_log& log, memory_probe& probe) {
  for (std::uint32_t d : p.delays_us) co_await coro::fork(wait_random(d, log, probe));
  co_await coro::join();
}

class coro_model final : public model {
 public:
  explicit coro_model(const cell_env& env) : sched_(env.workers) {}
  void run(const problem& p, completion_log& log, memory_probe& probe) override {
    sched_.run(wait_n(p, log, probe));
  }

 private:
  coro::scheduler sched_;
};

}  // namespace

std::unique_ptr<model> make_coro(const cell_env& env) {
  return std::make_unique<coro_model>(env);
}

}  // namespace cmbench::wait
