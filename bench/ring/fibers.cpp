// ring on Boost.Fiber: a fiber per unit, each popping the token from its own buffered_channel and
// pushing it into the next one's. Boost.Fiber's buffered_channel keeps one slot free, so a
// capacity of 2 holds the single token. The unit that makes the last hop closes every channel,
// which ends the others' pops.
#include <boost/fiber/barrier.hpp>
#include <boost/fiber/buffered_channel.hpp>
#include <deque>
#include <vector>

#include "bench/ring/spec.hpp"
#include "models/fibers/fiber_pool.hpp"

namespace cmbench::ring {

namespace {

using channel = boost::fibers::buffered_channel<token>;

class fiber_ring final : public model {
 public:
  explicit fiber_ring(const cell_env& env) : pool_(env.workers) {}

  token run(hop_log& log, memory_probe& probe) override {
    return pool_.run([&] {
      const std::uint64_t k = log.s.units;
      std::deque<channel> inbox;
      for (std::uint64_t u = 0; u < k; ++u) inbox.emplace_back(2);
      boost::fibers::barrier started(static_cast<std::size_t>(k + 1));
      token last;
      std::vector<boost::fibers::fiber> units;
      units.reserve(k);
      for (std::uint64_t u = 0; u < k; ++u) {
        units.push_back(fibers::spawn([&, u] {
          log.unit_started();
          probe.unit_started();
          started.wait();
          channel& next = inbox[(u + 1) % k];
          token t;
          while (inbox[u].pop(t) == boost::fibers::channel_op_status::success) {
            if (!hop(t, u, log)) {
              last = t;
              for (channel& c : inbox) c.close();
              break;
            }
            next.push(t);
          }
          probe.unit_finished();
        }));
      }
      started.wait();
      inbox[0].push(log.inject(probe));
      for (auto& f : units) f.join();
      return last;
    });
  }

 private:
  fibers::fiber_pool pool_;
};

}  // namespace

std::unique_ptr<model> make_fibers(const cell_env& env) {
  return std::make_unique<fiber_ring>(env);
}

}  // namespace cmbench::ring
