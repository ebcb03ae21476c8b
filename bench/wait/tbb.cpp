// wait on oneTBB: a task per wait in a task_group. `tbb` suspends each task (tbb::task::suspend)
// and a timer thread resumes it, so no worker blocks; `tbb_blocking` sleeps inside the task, as
// naive code does, and shows the cost: only `workers` waits can be in progress at once.
#include <oneapi/tbb/task_group.h>

#include <thread>

#include "bench/wait/spec.hpp"
#include "models/tbb/arena.hpp"
#include "models/tbb/timer_service.hpp"

namespace cmbench::wait {

namespace {

class tbb_resumable final : public model {
 public:
  explicit tbb_resumable(const cell_env& env) : arena_(env.workers) {}
  void run(const problem& p, completion_log& log, memory_probe& probe) override {
    arena_.slots.execute([&] {
      oneapi::tbb::task_group group;
      for (std::uint32_t d : p.delays_us) {
        group.run([this, d, &log, &probe] {
          wait_random(d, log, probe, [this](clock::time_point t) { timers_.sleep_until(t); });
        });
      }
      group.wait();
    });
  }

 private:
  tbb_model::arena arena_;
  tbb_model::timer_service timers_;
};

class tbb_blocking final : public model {
 public:
  explicit tbb_blocking(const cell_env& env) : arena_(env.workers) {}
  void run(const problem& p, completion_log& log, memory_probe& probe) override {
    arena_.slots.execute([&] {
      oneapi::tbb::task_group group;
      for (std::uint32_t d : p.delays_us) {
        group.run([d, &log, &probe] {
          wait_random(d, log, probe, [](clock::time_point t) { std::this_thread::sleep_until(t); });
        });
      }
      group.wait();
    });
  }

 private:
  tbb_model::arena arena_;
};

}  // namespace

std::unique_ptr<model> make_tbb(const cell_env& env) {
  return std::make_unique<tbb_resumable>(env);
}
std::unique_ptr<model> make_tbb_blocking(const cell_env& env) {
  return std::make_unique<tbb_blocking>(env);
}

}  // namespace cmbench::wait
