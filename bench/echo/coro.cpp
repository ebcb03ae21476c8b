// echo on coroutines: a coroutine per connection, forked from the acceptor coroutine, on
// non-blocking sockets. A coroutine whose socket would block co_awaits readiness on the
// scheduler's own reactor (models/coro/scheduler.hpp): the worker that polls the event resumes
// it, as tokio and Asio's io_context do, with no poller thread in between. (Boost.Asio's
// awaitables would bring their own io_context and scheduler; this keeps the one scheduler every
// other coro cell measures.)
#include "bench/echo/socket.hpp"
#include "models/coro/scheduler.hpp"

namespace cmbench::echo {

namespace {

// echo_connection (socket.hpp), step for step, with co_await where the others block.
coro::task<> echo_connection(int fd, server_stats& stats, memory_probe& probe) {
  probe.unit_started();
  char buf[server_buffer_bytes];
  bool failed = false;
  for (;;) {
    std::size_t got = 0;
    const io r = receive_some(fd, buf, sizeof buf, got);
    if (r == io::would_block) {
      co_await coro::readable(fd);
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
        co_await coro::writable(fd);
      else
        failed = true;
    }
    if (failed) break;
    stats.bytes_echoed.fetch_add(got, std::memory_order_relaxed);
  }
  finish_connection(fd, failed, stats);
  probe.unit_finished();
}

coro::task<> accept_all(int listener, const spec& s, server_stats& stats, memory_probe& probe) {
  for (std::uint64_t i = 0; i < s.connections; ++i) {
    int fd;
    while ((fd = accept_counted(listener, /*nonblocking=*/true, stats)) < 0)
      co_await coro::readable(listener);
    stats.units.fetch_add(1, std::memory_order_relaxed);
    co_await coro::fork(echo_connection(fd, stats, probe));
  }
  co_await coro::join();
}

class coro_server final : public model {
 public:
  explicit coro_server(const cell_env& env) : sched_(env.workers) {}
  void serve(int listener, const spec& s, server_stats& stats, memory_probe& probe) override {
    set_nonblocking(listener);
    sched_.run(accept_all(listener, s, stats, probe));
  }

 private:
  coro::scheduler sched_;
};

}  // namespace

std::unique_ptr<model> make_coro(const cell_env& env) {
  return std::make_unique<coro_server>(env);
}

}  // namespace cmbench::echo
