// idle on Boost.Fiber: a fiber per unit, all waiting on one boost::fibers::condition_variable; the
// last fiber to park sets the flag and calls notify_all. The stack size is the cell's stack_kib:
// the pool's default (16 KiB, see models/fibers/fiber_pool.hpp) and the smallest this workload
// passes with, which the pool's stack guard (fiber_pool.hpp) verifies on every run: a fiber that
// reached its guard bytes fails the cell.
#include <boost/fiber/condition_variable.hpp>
#include <boost/fiber/mutex.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/idle/spec.hpp"
#include "models/fibers/fiber_pool.hpp"

namespace cmbench::idle {

namespace {

class fiber_per_unit final : public model {
 public:
  fiber_per_unit(const cell_env& env, const spec& s)
      : pool_(env.workers, s.stack_kib == 0 ? fibers::default_stack_bytes : s.stack_kib * 1024) {}

  // Stacks are checked when given back, as the pool reclaims finished fibers, which may be just
  // after run() returns: a late one is caught by the next run.
  void run(idle_log& log, memory_probe& probe) override {
    throw_if_overflowed();
    pool_.run([&] {
      boost::fibers::mutex mutex;
      boost::fibers::condition_variable event;
      bool set = false;
      std::vector<boost::fibers::fiber> units;
      units.reserve(log.size());
      for (std::uint64_t u = 0; u < log.size(); ++u) {
        units.push_back(fibers::spawn([&, u] {
          log.unit_started();
          probe.unit_started();
          std::unique_lock lk(mutex);
          if (log.last_to_park()) {
            probe.at_peak();
            log.released();
            set = true;
            lk.unlock();  // the woken fibers need the mutex at once
            event.notify_all();
          } else {
            event.wait(lk, [&] { return set; });
            lk.unlock();
          }
          log.resumed(u);
          probe.unit_finished();
        }));
      }
      for (auto& f : units) f.join();
    });
    throw_if_overflowed();
  }

 private:
  void throw_if_overflowed() const {
    if (pool_.stack_overflows() == 0) return;
    throw std::runtime_error(std::to_string(pool_.stack_overflows()) + " fibers reached the last " +
                             std::to_string(fibers::detail::stack_guard_bytes) +
                             " bytes of their " + std::to_string(pool_.stack_bytes() / 1024) +
                             " KiB stacks");
  }

  fibers::fiber_pool pool_;
};

}  // namespace

std::unique_ptr<model> make_fibers(const cell_env& env, const spec& s) {
  return std::make_unique<fiber_per_unit>(env, s);
}

}  // namespace cmbench::idle
