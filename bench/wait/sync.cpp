// wait on sync: one wait after another on the benchmark thread; the total is the sum of delays.
#include <thread>

#include "bench/wait/spec.hpp"

namespace cmbench::wait {

namespace {
class sync_model final : public model {
 public:
  void run(const problem& p, completion_log& log, memory_probe& probe) override {
    for (std::uint32_t d : p.delays_us)
      wait_random(d, log, probe, [](clock::time_point t) { std::this_thread::sleep_until(t); });
  }
};
}  // namespace

std::unique_ptr<model> make_sync(const cell_env&) {
  return std::make_unique<sync_model>();
}

}  // namespace cmbench::wait
