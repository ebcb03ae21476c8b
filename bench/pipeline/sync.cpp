// pipeline on sync: one loop makes each item (sleeping first when paced), runs the stages on it in
// turn and consumes it before making the next, so nothing ever waits in a channel.
#include <thread>

#include "bench/pipeline/spec.hpp"

namespace cmbench::pipeline {

namespace {

class sync_model final : public model {
 public:
  // The loop plays every unit in turn. It counts them as the other sync models count theirs
  // (wait/sync a unit per wait, spawn/sync per node): the producer, the S stages and the consumer
  // are S + 2 logical units, all live for the whole loop, as in the concurrent models.
  void run(const spec& s, run_log& log, memory_probe& probe) override {
    const std::uint64_t units = s.stages + 2;
    for (std::uint64_t u = 0; u < units; ++u) probe.unit_started();
    const clock::time_point start = clock::now();
    for (std::uint64_t i = 0; i < s.items; ++i) {
      if (s.delay_us != 0) std::this_thread::sleep_until(due(start, s, i));
      item it = log.produce(i);
      for (std::uint64_t k = 0; k < s.stages; ++k) it.value = stage(k, it.value);
      log.consume(it);
    }
    for (std::uint64_t u = 0; u < units; ++u) {
      log.unit_finished();
      probe.unit_finished();
    }
  }
};

}  // namespace

std::unique_ptr<model> make_sync(const cell_env&) {
  return std::make_unique<sync_model>();
}

}  // namespace cmbench::pipeline
