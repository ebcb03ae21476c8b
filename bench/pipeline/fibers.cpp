// pipeline on Boost.Fiber: a fiber per unit (producer, each stage, consumer) on the pool, joined by
// boost::fibers::buffered_channel; closing a channel tells the next unit that no more items come.
#include <bit>
#include <boost/fiber/buffered_channel.hpp>
#include <boost/fiber/operations.hpp>
#include <deque>

#include "bench/pipeline/spec.hpp"
#include "models/fibers/fiber_pool.hpp"

namespace cmbench::pipeline {

namespace {

using channel = boost::fibers::buffered_channel<item>;
using boost::fibers::channel_op_status;

// Boost 1.74's buffered_channel takes a power of two of at least 2 slots and holds one item less
// than that (is_full_() is `cidx_ == (pidx_ + 1) % capacity_`: one slot always stays free). Each
// channel gets the fewest slots that hold C items, bit_ceil(C + 1), and so holds
// bit_ceil(C + 1) - 1 items: exactly C when C + 1 is a power of two, more otherwise (31 for
// C = 16). So the profiles use C = 15, which every model holds exactly.
std::size_t slots_for(std::uint64_t capacity) {
  return std::bit_ceil(static_cast<std::size_t>(capacity) + 1);
}

void producer(const spec& s, run_log& log, channel& out, memory_probe& probe) {
  probe.unit_started();
  const clock::time_point start = clock::now();
  for (std::uint64_t i = 0; i < s.items; ++i) {
    if (s.delay_us != 0) boost::this_fiber::sleep_until(due(start, s, i));
    if (out.push(log.produce(i)) != channel_op_status::success) break;
  }
  out.close();
  log.unit_finished();
  probe.unit_finished();
}

void stage_unit(std::uint64_t k, channel& in, channel& out, run_log& log, memory_probe& probe) {
  probe.unit_started();
  item it;
  while (in.pop(it) == channel_op_status::success) {
    it.value = stage(k, it.value);
    if (out.push(it) != channel_op_status::success) break;
  }
  out.close();
  log.unit_finished();
  probe.unit_finished();
}

void consumer(channel& in, run_log& log, memory_probe& probe) {
  probe.unit_started();
  item it;
  while (in.pop(it) == channel_op_status::success) log.consume(it);
  log.unit_finished();
  probe.unit_finished();
}

class fiber_per_unit final : public model {
 public:
  explicit fiber_per_unit(const cell_env& env) : pool_(env.workers) {}
  void run(const spec& s, run_log& log, memory_probe& probe) override {
    pool_.run([&] {
      // channels[k] feeds stage k; channels[stages] feeds the consumer.
      std::deque<channel> channels;
      for (std::uint64_t k = 0; k <= s.stages; ++k) channels.emplace_back(slots_for(s.capacity));
      std::vector<boost::fibers::fiber> units;
      units.reserve(s.stages + 2);
      units.push_back(fibers::spawn([&] { consumer(channels[s.stages], log, probe); }));
      for (std::uint64_t k = 0; k < s.stages; ++k)
        units.push_back(
            fibers::spawn([&, k] { stage_unit(k, channels[k], channels[k + 1], log, probe); }));
      units.push_back(fibers::spawn([&] { producer(s, log, channels[0], probe); }));
      for (boost::fibers::fiber& f : units) f.join();
    });
  }

 private:
  fibers::fiber_pool pool_;
};

}  // namespace

std::unique_ptr<model> make_fibers(const cell_env& env) {
  return std::make_unique<fiber_per_unit>(env);
}

}  // namespace cmbench::pipeline
