// echo on oneTBB: a task per connection in a task_group, on non-blocking sockets. oneTBB has no
// I/O: a task whose socket would block suspends itself (tbb::task::suspend; its worker goes on
// with other tasks) and is resumed when the socket is ready. The acceptor is a task too. Each
// suspended task keeps its own stack, so the cells are skipped past vm.max_map_count
// (suspend_budget.hpp). oneTBB has neither a reactor nor a hook in its idle workers, so there
// are two ways to learn of readiness, and each model here takes one:
//  - tbb: a readiness poller thread sleeps in epoll_wait and resumes the task, as the wait
//    workload's timer thread does for deadlines; a wake-up crosses one more thread, and nothing
//    spins while no socket is ready.
//  - tbb_polling: a task in the arena polls the epoll set without blocking and enqueues itself
//    again (task_arena::enqueue: FIFO, so the tasks queued meanwhile run first); no extra thread,
//    but a worker keeps polling while nothing is ready.
#include <oneapi/tbb/task.h>
#include <oneapi/tbb/task_group.h>
#include <sys/epoll.h>

#include <atomic>
#include <exception>
#include <functional>
#include <thread>

#include "bench/echo/socket.hpp"
#include "models/tbb/arena.hpp"

namespace cmbench::echo {

namespace {

class resumable_server final : public model {
 public:
  resumable_server(const cell_env& env, bool task_polls)
      : arena_(env.workers), task_polls_(task_polls), poller_(/*own_thread=*/!task_polls) {}

  void serve(int listener, const spec& s, server_stats& stats, memory_probe& probe,
             idle_reaper& reaper) override {
    set_nonblocking(listener);
    // A failed accept stops the acceptor, not the group: the connections already taken are
    // served to their end (a cancelled task_group would skip their tasks and leak the sockets).
    auto park = [this](int fd, std::uint32_t events) { park_task(fd, events); };
    std::exception_ptr failed;
    // tbb_polling: the poll task runs until the connections' group is done, then says it ended.
    std::atomic<bool> done{false};
    std::atomic<bool> poll_ended{!task_polls_};
    std::function<void()> poll = [&] {
      poller_.poll_now();
      if (done.load(std::memory_order_acquire)) {
        poll_ended.store(true, std::memory_order_release);
        return;
      }
      arena_.slots.enqueue(poll);
    };
    if (task_polls_) arena_.slots.enqueue(poll);
    arena_.slots.execute([&] {
      oneapi::tbb::task_group group;
      group.run([&] {
        failed = accept_parking(listener, s.connections, stats, park, [&](int fd) {
          group.run([fd, &stats, &probe, &reaper, park] {
            serve_parking(fd, stats, probe, reaper, park);
          });
        });
      });
      group.wait();
    });
    done.store(true, std::memory_order_release);
    while (!poll_ended.load(std::memory_order_acquire)) std::this_thread::yield();
    if (failed) std::rethrow_exception(failed);
  }

 private:
  struct resumer final : readiness_poller::waiter {
    oneapi::tbb::task::suspend_point point{};
    void ready() noexcept override { oneapi::tbb::task::resume(point); }
  };

  // Suspends the calling task until fd is ready; the worker runs other tasks meanwhile.
  void park_task(int fd, std::uint32_t events) {
    resumer r;
    oneapi::tbb::task::suspend([&](oneapi::tbb::task::suspend_point point) {
      r.point = point;
      poller_.arm(fd, events, &r);
    });
  }

  tbb_model::arena arena_;
  const bool task_polls_;
  readiness_poller poller_;
};

}  // namespace

std::unique_ptr<model> make_tbb(const cell_env& env) {
  return std::make_unique<resumable_server>(env, false);
}

std::unique_ptr<model> make_tbb_polling(const cell_env& env) {
  return std::make_unique<resumable_server>(env, true);
}

}  // namespace cmbench::echo
