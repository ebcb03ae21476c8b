// idle on oneTBB: a task per unit, each parked with tbb::task::suspend (a resumable task: the
// worker thread goes on with other tasks while the suspended one keeps its own stack). The
// suspend callback records the task's suspend_point in the event's waiter list; the last task to
// park resumes them all. That is oneTBB's own way for a task to wait on an event without holding
// a thread; the price is a coroutine stack per waiting task, which reserved_per_task_B shows.
#include <oneapi/tbb/task.h>
#include <oneapi/tbb/task_group.h>

#include <mutex>
#include <vector>

#include "bench/idle/spec.hpp"
#include "models/tbb/arena.hpp"

namespace cmbench::idle {

namespace {

class resumable_tasks final : public model {
 public:
  explicit resumable_tasks(const cell_env& env) : arena_(env.workers) {}

  void run(idle_log& log, memory_probe& probe) override {
    std::mutex mutex;
    std::vector<oneapi::tbb::task::suspend_point> waiters;
    waiters.reserve(log.size());
    arena_.slots.execute([&] {
      oneapi::tbb::task_group group;
      for (std::uint64_t u = 0; u < log.size(); ++u) {
        group.run([&, u] {
          log.unit_started();
          probe.unit_started();
          oneapi::tbb::task::suspend([&](oneapi::tbb::task::suspend_point sp) {
            {
              std::lock_guard lk(mutex);
              waiters.push_back(sp);
            }
            if (!log.last_to_park()) return;
            probe.at_peak();
            log.released();
            std::lock_guard lk(mutex);
            for (auto p : waiters) oneapi::tbb::task::resume(p);
          });
          log.resumed(u);
          probe.unit_finished();
        });
      }
      group.wait();
    });
  }

 private:
  tbb_model::arena arena_;
};

}  // namespace

std::unique_ptr<model> make_tbb(const cell_env& env, const spec&) {
  return std::make_unique<resumable_tasks>(env);
}

}  // namespace cmbench::idle
