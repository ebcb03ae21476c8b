// idle on threads: a thread per unit, all blocked in std::atomic::wait on one event word; the last
// thread to park sets it and wakes them all with notify_all (one futex wake of every waiter).
#include <system_error>
#include <thread>
#include <vector>

#include "bench/idle/spec.hpp"
#include "models/threads/first_failure.hpp"

namespace cmbench::idle {

namespace {

class thread_per_unit final : public model {
 public:
  void run(idle_log& log, memory_probe& probe) override {
    std::atomic<std::uint32_t> event{0};
    auto set_event = [&event] {
      // seq_cst, not release: see send() in bench/ring/threads.cpp for the lost wake-up a release
      // store allows with libstdc++'s notify.
      event.store(1, std::memory_order_seq_cst);
      event.notify_all();
    };
    std::vector<std::thread> threads;
    threads.reserve(log.size());
    threads_model::first_failure failure;
    for (std::uint64_t u = 0; u < log.size(); ++u) {
      try {
        threads.emplace_back([&, u] {
          log.unit_started();
          probe.unit_started();
          if (log.last_to_park()) {
            probe.at_peak();
            log.released();
            set_event();
          } else {
            event.wait(0, std::memory_order_acquire);
          }
          log.resumed(u);
          probe.unit_finished();
        });
      } catch (const std::system_error& e) {
        failure.record(e);
        set_event();  // release the ones already parked
        break;
      }
    }
    for (std::thread& t : threads) t.join();
    failure.throw_if_any();
  }
};

}  // namespace

std::unique_ptr<model> make_threads(const cell_env&, const spec&) {
  return std::make_unique<thread_per_unit>();
}

}  // namespace cmbench::idle
