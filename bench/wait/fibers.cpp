// wait on Boost.Fiber: a fiber per wait sleeping with this_fiber::sleep_until; the worker thread
// runs other fibers meanwhile. The root fiber launches all and joins them.
#include <boost/fiber/operations.hpp>

#include "bench/wait/spec.hpp"
#include "models/fibers/fiber_pool.hpp"

namespace cmbench::wait {

namespace {
class fibers_model final : public model {
 public:
  explicit fibers_model(const cell_env& env) : pool_(env.workers) {}
  void run(const problem& p, completion_log& log, memory_probe& probe) override {
    pool_.run([&] {
      std::vector<boost::fibers::fiber> waits;
      waits.reserve(p.delays_us.size());
      for (std::uint32_t d : p.delays_us) {
        waits.push_back(fibers::spawn([d, &log, &probe] {
          wait_random(d, log, probe,
                      [](clock::time_point t) { boost::this_fiber::sleep_until(t); });
        }));
      }
      for (auto& f : waits) f.join();
    });
  }

 private:
  fibers::fiber_pool pool_;
};
}  // namespace

std::unique_ptr<model> make_fibers(const cell_env& env) {
  return std::make_unique<fibers_model>(env);
}

}  // namespace cmbench::wait
