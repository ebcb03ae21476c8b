// ring on sync: the K units are K calls made in turn on one thread, the function-call floor of a
// hop. Each unit is counted once, like the other models' units.
#include "bench/ring/spec.hpp"

namespace cmbench::ring {

namespace {

class sync_model final : public model {
 public:
  token run(hop_log& log, memory_probe& probe) override {
    const std::uint64_t k = log.s.units;
    for (std::uint64_t u = 0; u < k; ++u) {
      probe.unit_started();
      log.unit_started();
    }
    token t = log.inject(probe);
    for (bool more = true; more;)
      for (std::uint64_t u = 0; u < k && more; ++u) more = hop(t, u, log);
    for (std::uint64_t u = 0; u < k; ++u) {
      log.ran_at(u, 0);  // every call on this one thread
      probe.unit_finished();
    }
    return t;
  }
};

}  // namespace

std::unique_ptr<model> make_sync(const cell_env&) {
  return std::make_unique<sync_model>();
}

}  // namespace cmbench::ring
