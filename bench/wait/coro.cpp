// wait on coroutines: wait_random is a coroutine that co_awaits the scheduler's timer; wait_n
// forks one per delay and joins them, asyncio's gather on a multi-threaded loop. The loop is
// split in halves first, as cilk_for and tbb::parallel_for split one, so that an idle worker
// takes half of the remaining waits in one steal. Forked from one flat loop, every fork's
// continuation went to the idle worker and back (n:10000 on 2 workers, quick profile: 16.5 ms
// against 11.5 ms on 1 worker, where 10 ms is the longest delay; split, 11.6 ms on both).
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

// Starts the waits delays_us[first, last) and returns when all have completed.
coro::task<> wait_n(const problem& p, std::size_t first, std::size_t last, completion_log& log,
                    memory_probe& probe) {
  constexpr std::size_t leaf = 64;  // 16 to 512 measured the same
  while (last - first > leaf) {
    const std::size_t mid = first + (last - first) / 2;
    co_await coro::fork(wait_n(p, mid, last, log, probe));  // a thief takes [first, mid)
    last = mid;
  }
  for (std::size_t i = first; i < last; ++i)
    co_await coro::fork(wait_random(p.delays_us[i], log, probe));
  co_await coro::join();
}

class coro_model final : public model {
 public:
  explicit coro_model(const cell_env& env) : sched_(env.workers) {}
  void run(const problem& p, completion_log& log, memory_probe& probe) override {
    sched_.run(wait_n(p, 0, p.delays_us.size(), log, probe));
  }

 private:
  coro::scheduler sched_;
};

}  // namespace

std::unique_ptr<model> make_coro(const cell_env& env) {
  return std::make_unique<coro_model>(env);
}

}  // namespace cmbench::wait
