// echo on coroutines: a coroutine per connection, forked from the acceptor coroutine, on
// non-blocking sockets. A coroutine whose socket would block co_awaits readiness: it arms the
// poller in await_suspend and the poller's thread posts it back to the scheduler, which resumes
// it on whichever worker comes first. (Boost.Asio's awaitables would bring their own io_context
// and scheduler; this keeps the one scheduler every other coro cell measures.)
#include <sys/epoll.h>

#include "bench/echo/socket.hpp"
#include "models/coro/scheduler.hpp"

namespace cmbench::echo {

namespace {

struct readiness final : readiness_poller::waiter {
  readiness(readiness_poller& p, int fd, std::uint32_t events) : poller(p), fd(fd), events(events) {}
  readiness_poller& poller;
  int fd;
  std::uint32_t events;
  std::coroutine_handle<> waiting;
  coro::scheduler* owner = nullptr;

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    waiting = h;
    owner = coro::detail::this_worker->owner;
    poller.arm(fd, events, this);  // from here on, this may be resumed (and gone) at any moment
  }
  void await_resume() const noexcept {}
  void ready() noexcept override { owner->post(waiting); }
};

// echo_connection (socket.hpp), step for step, with co_await where the others block.
coro::task<> echo_connection(int fd, readiness_poller& poller, server_stats& stats,
                             memory_probe& probe) {
  probe.unit_started();
  char buf[server_buffer_bytes];
  bool failed = false;
  for (;;) {
    std::size_t got = 0;
    const io r = receive_some(fd, buf, sizeof buf, got);
    if (r == io::would_block) {
      co_await readiness(poller, fd, EPOLLIN);
      continue;
    }
    if (r != io::done) {
      failed = r == io::failed;
      break;
    }
    std::size_t sent = 0;
    while (sent < got && !failed) {
      std::size_t n = 0;
      const io w = send_some(fd, buf + sent, got - sent, n);
      if (w == io::done)
        sent += n;
      else if (w == io::would_block)
        co_await readiness(poller, fd, EPOLLOUT);
      else
        failed = true;
    }
    if (failed) break;
    stats.bytes_echoed.fetch_add(got, std::memory_order_relaxed);
  }
  finish_connection(fd, failed, stats);
  probe.unit_finished();
}

coro::task<> accept_all(int listener, const spec& s, readiness_poller& poller, server_stats& stats,
                        memory_probe& probe) {
  for (std::uint64_t i = 0; i < s.connections; ++i) {
    int fd;
    while ((fd = accept_counted(listener, /*nonblocking=*/true, stats)) < 0)
      co_await readiness(poller, listener, EPOLLIN);
    stats.units.fetch_add(1, std::memory_order_relaxed);
    co_await coro::fork(echo_connection(fd, poller, stats, probe));
  }
  co_await coro::join();
}

class coro_server final : public model {
 public:
  explicit coro_server(const cell_env& env) : sched_(env.workers) {}
  void serve(int listener, const spec& s, server_stats& stats, memory_probe& probe) override {
    set_nonblocking(listener);
    sched_.run(accept_all(listener, s, poller_, stats, probe));
  }

 private:
  coro::scheduler sched_;
  readiness_poller poller_;
};

}  // namespace

std::unique_ptr<model> make_coro(const cell_env& env) {
  return std::make_unique<coro_server>(env);
}

}  // namespace cmbench::echo
