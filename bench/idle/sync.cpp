// idle on sync: a parked unit is the state it needs to go on, kept in the event's waiter list
// (here its index); the release is a loop over the list. The floor every model is measured
// against: what waiting costs when a unit is nothing but data.
#include <vector>

#include "bench/idle/spec.hpp"

namespace cmbench::idle {

namespace {

struct parked_unit {
  std::uint64_t index;
};

class sync_model final : public model {
 public:
  void run(idle_log& log, memory_probe& probe) override {
    std::vector<parked_unit> waiters;
    for (std::uint64_t u = 0; u < log.size(); ++u) {
      log.unit_started();
      probe.unit_started();
      waiters.push_back({u});
      if (log.last_to_park()) {
        probe.at_peak();
        log.released();
        for (const parked_unit& p : waiters) {
          log.resumed(p.index);
          probe.unit_finished();
        }
      }
    }
  }
};

}  // namespace

std::unique_ptr<model> make_sync(const cell_env&, const spec&) {
  return std::make_unique<sync_model>();
}

}  // namespace cmbench::idle
