// echo on Boost.Fiber: a fiber per connection on non-blocking sockets. A fiber whose socket would
// block parks on the pool's own epoll reactor (fibers::wait_ready, models/fibers/fiber_pool.hpp):
// it waits on a fiber condition variable, and the worker that polls the event notifies it, from
// its dispatcher, with no poller thread in between (its worker runs other fibers meanwhile);
// woken fibers run in the order their events came (a FIFO list beside the pool's LIFO deques).
// The acceptor is a fiber too.
#include <sys/epoll.h>

#include <exception>
#include <vector>

#include "bench/echo/socket.hpp"
#include "models/fibers/fiber_pool.hpp"

namespace cmbench::echo {

namespace {

class fiber_server final : public model {
 public:
  explicit fiber_server(const cell_env& env) : pool_(env.workers) {}

  void serve(int listener, const spec& s, server_stats& stats, memory_probe& probe,
             idle_reaper& reaper) override {
    set_nonblocking(listener);
    pool_.run([&] {
      std::vector<boost::fibers::fiber> connections;
      connections.reserve(s.connections);
      // A failed accept stops the acceptor; the connections already taken are served to their
      // end and joined (a joinable fiber's destructor would terminate the process).
      const std::exception_ptr failed =
          accept_parking(listener, s.connections, stats, fibers::wait_ready, [&](int fd) {
            connections.push_back(fibers::spawn([fd, &stats, &probe, &reaper] {
              serve_parking(fd, stats, probe, reaper, fibers::wait_ready);
            }));
          });
      for (auto& f : connections) f.join();
      if (failed) std::rethrow_exception(failed);
    });
  }

 private:
  fibers::fiber_pool pool_;
};

}  // namespace

std::unique_ptr<model> make_fibers(const cell_env& env) {
  return std::make_unique<fiber_server>(env);
}

}  // namespace cmbench::echo
