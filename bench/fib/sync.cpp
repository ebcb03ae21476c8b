// fib on sync: the fork is a plain call; the same shape and the same counting as every model.
#include "bench/fib/spec.hpp"

namespace cmbench::fib {

namespace {

result call(std::uint64_t n, std::uint64_t cutoff, memory_probe& probe) {
  if (n < cutoff) return {serial_fib(n), 0};
  probe.unit_started();
  const result forked = call(n - 1, cutoff, probe);
  probe.unit_finished();
  return combine(forked, call(n - 2, cutoff, probe));
}

class sync_model final : public model {
 public:
  result run(const spec& s, memory_probe& probe) override {
    probe.unit_started();
    const result r = call(s.n, s.cutoff, probe);
    probe.unit_finished();
    return r;
  }
};

}  // namespace

std::unique_ptr<model> make_sync(const cell_env&) {
  return std::make_unique<sync_model>();
}

}  // namespace cmbench::fib
