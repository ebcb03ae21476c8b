// wait on threads: a std::thread per wait, each sleeping its delay; the benchmark thread joins all.
#include <stdexcept>
#include <system_error>
#include <thread>

#include "bench/wait/spec.hpp"

namespace cmbench::wait {

namespace {
class thread_per_wait final : public model {
 public:
  void run(const problem& p, completion_log& log, memory_probe& probe) override {
    std::vector<std::thread> threads;
    threads.reserve(p.delays_us.size());
    try {
      for (std::uint32_t d : p.delays_us) {
        threads.emplace_back([d, &log, &probe] {
          wait_random(d, log, probe, [](clock::time_point t) { std::this_thread::sleep_until(t); });
        });
      }
    } catch (const std::system_error& e) {
      const std::size_t made = threads.size();
      for (auto& t : threads) t.join();
      throw std::runtime_error("could not create thread " + std::to_string(made + 1) + " of " +
                               std::to_string(p.delays_us.size()) + ": " + e.what());
    }
    for (auto& t : threads) t.join();
  }
};
}  // namespace

std::unique_ptr<model> make_threads(const cell_env&) {
  return std::make_unique<thread_per_wait>();
}

}  // namespace cmbench::wait
