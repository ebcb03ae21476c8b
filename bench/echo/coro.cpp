// echo on coroutines: a coroutine per connection, forked from the acceptor coroutine, on
// non-blocking sockets. A coroutine whose socket would block co_awaits readiness on the
// scheduler's own reactor (models/coro/scheduler.hpp): the worker that polls the event resumes
// it, as tokio and Asio's io_context do, with no poller thread in between. (Boost.Asio's
// awaitables would bring their own io_context and scheduler; this keeps the one scheduler every
// other coro cell measures.)
#include <exception>

#include "bench/echo/socket.hpp"
#include "models/coro/scheduler.hpp"

namespace cmbench::echo {

namespace {

coro::task<> echo_connection(int fd, server_stats& stats, memory_probe& probe,
                             idle_reaper& reaper) {
  echo_session session(fd, stats, probe, reaper);
  for (next_wait w; (w = session.step()) != next_wait::finished;)
    co_await (w == next_wait::readable ? coro::readable(fd) : coro::writable(fd));
}

coro::task<> accept_all(int listener, const spec& s, server_stats& stats, memory_probe& probe,
                        idle_reaper& reaper) {
  // A failed accept stops the acceptor; the connections already forked are served to their end
  // and joined before it reports (a parent may not leave while its children run).
  std::exception_ptr failed;
  for (std::uint64_t i = 0; i < s.connections;) {
    int fd = -1;
    try {
      fd = accept_counted(listener, /*nonblocking=*/true, stats);
    } catch (...) {
      failed = std::current_exception();
      break;
    }
    if (fd < 0) {
      co_await coro::readable(listener);
      continue;
    }
    ++i;
    stats.units.fetch_add(1, std::memory_order_relaxed);
    co_await coro::fork(echo_connection(fd, stats, probe, reaper));
  }
  co_await coro::join();
  if (failed) std::rethrow_exception(failed);
}

class coro_server final : public model {
 public:
  explicit coro_server(const cell_env& env) : sched_(env.workers) {}
  void serve(int listener, const spec& s, server_stats& stats, memory_probe& probe,
             idle_reaper& reaper) override {
    set_nonblocking(listener);
    sched_.run(accept_all(listener, s, stats, probe, reaper));
  }

 private:
  coro::scheduler sched_;
};

}  // namespace

std::unique_ptr<model> make_coro(const cell_env& env) {
  return std::make_unique<coro_server>(env);
}

}  // namespace cmbench::echo
