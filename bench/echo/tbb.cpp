// echo on oneTBB: a task per connection in a task_group, on non-blocking sockets. oneTBB has no
// I/O: a task whose socket would block suspends itself (tbb::task::suspend; its worker goes on
// with other tasks) and the readiness poller's thread resumes it when the socket is ready, as the
// wait workload's timer thread does for deadlines. The acceptor is a task too. Each suspended
// task keeps its own stack, so the cell is skipped past vm.max_map_count (suspend_budget.hpp).
#include <oneapi/tbb/task.h>
#include <oneapi/tbb/task_group.h>
#include <sys/epoll.h>

#include <exception>

#include "bench/echo/socket.hpp"
#include "models/tbb/arena.hpp"

namespace cmbench::echo {

namespace {

class resumable_server final : public model {
 public:
  explicit resumable_server(const cell_env& env) : arena_(env.workers) {}

  void serve(int listener, const spec& s, server_stats& stats, memory_probe& probe,
             idle_reaper& reaper) override {
    set_nonblocking(listener);
    // A failed accept stops the acceptor, not the group: the connections already taken are
    // served to their end (a cancelled task_group would skip their tasks and leak the sockets).
    auto park = [this](int fd, std::uint32_t events) { park_task(fd, events); };
    std::exception_ptr failed;
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
  readiness_poller poller_;
};

}  // namespace

std::unique_ptr<model> make_tbb(const cell_env& env) {
  return std::make_unique<resumable_server>(env);
}

}  // namespace cmbench::echo
