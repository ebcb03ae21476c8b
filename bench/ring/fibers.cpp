// ring on Boost.Fiber: a fiber per unit, each popping the token from its own buffered_channel and
// pushing it into the next one's. Boost.Fiber's buffered_channel keeps one slot free, so a
// capacity of 2 holds the single token. The unit that makes the last hop closes every channel,
// which ends the others' pops. handoff:same runs on a pool of one worker; handoff:cross places
// unit u on worker u mod W (fibers::stay_on), where Boost.Fiber then wakes it from the other
// worker's push through its remote-ready queue.
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
      log.spread_over(log.s.placement == handoff::cross ? pool_.workers() : 1);
      token last;
      std::vector<boost::fibers::fiber> units;
      units.reserve(k);
      for (std::uint64_t u = 0; u < k; ++u) {
        units.push_back(fibers::spawn([&, u] {
          if (log.s.placement == handoff::cross) fibers::stay_on(u % pool_.workers());
          log.unit_started();
          probe.unit_started();
          started.wait();
          channel& next = inbox[(u + 1) % k];
          token t;
          while (inbox[u].pop(t) == boost::fibers::channel_op_status::success) {
            const bool more = hop(t, u, log);
            if (log.last_hop_of_unit(t)) log.ran_at(u, fibers::current_worker());
            if (!more) {
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
