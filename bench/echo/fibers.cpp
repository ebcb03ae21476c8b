// echo on Boost.Fiber: a fiber per connection on non-blocking sockets. A fiber whose socket would
// block parks on a fiber condition variable (its worker thread runs other fibers meanwhile) and
// the readiness poller's thread notifies it when the socket is ready: Boost.Fiber's supported way
// for another thread to wake a fiber (the wake-up reaches the fiber's worker through its remote
// ready queue and the pool's notify()). The acceptor is a fiber too.
#include <sys/epoll.h>

#include <boost/fiber/condition_variable.hpp>
#include <exception>
#include <mutex>
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
    auto park = [this](int fd, std::uint32_t events) { park_fiber(fd, events); };
    pool_.run([&] {
      std::vector<boost::fibers::fiber> connections;
      connections.reserve(s.connections);
      // A failed accept stops the acceptor; the connections already taken are served to their
      // end and joined (a joinable fiber's destructor would terminate the process).
      const std::exception_ptr failed =
          accept_parking(listener, s.connections, stats, park, [&](int fd) {
            connections.push_back(fibers::spawn([fd, &stats, &probe, &reaper, park] {
              serve_parking(fd, stats, probe, reaper, park);
            }));
          });
      for (auto& f : connections) f.join();
      if (failed) std::rethrow_exception(failed);
    });
  }

 private:
  struct notifier final : readiness_poller::waiter {
    std::mutex m;
    boost::fibers::condition_variable_any cv;
    bool fired = false;
    // Notifies under the mutex: the woken fiber cannot return (and destroy this) before the
    // poller is done with it.
    void ready() noexcept override {
      std::lock_guard lk(m);
      fired = true;
      cv.notify_one();
    }
  };

  // Parks the calling fiber until fd is ready.
  void park_fiber(int fd, std::uint32_t events) {
    notifier n;
    std::unique_lock lk(n.m);
    poller_.arm(fd, events, &n);
    n.cv.wait(lk, [&] { return n.fired; });
  }

  fibers::fiber_pool pool_;
  readiness_poller poller_;
};

}  // namespace

std::unique_ptr<model> make_fibers(const cell_env& env) {
  return std::make_unique<fiber_server>(env);
}

}  // namespace cmbench::echo
