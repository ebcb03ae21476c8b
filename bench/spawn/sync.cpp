// spawn on sync: each node is a function call; children are called one after another.
#include <array>

#include "bench/spawn/spec.hpp"

namespace cmbench::spawn {

namespace {

subtree node(std::uint64_t first, std::uint64_t size, memory_probe& probe) {
  probe.unit_started();
  subtree t{first, 1};
  if (size > 1) {
    const std::uint64_t step = size / fanout;
    std::array<subtree, fanout> results;
    for (std::uint64_t i = 0; i < fanout; ++i) results[i] = node(first + i * step, step, probe);
    t = combine(results);
  }
  probe.unit_finished();
  return t;
}

class sync_model final : public model {
 public:
  subtree run(const spec& s, memory_probe& probe) override { return node(0, s.leaves, probe); }
};

}  // namespace

std::unique_ptr<model> make_sync(const cell_env&) {
  return std::make_unique<sync_model>();
}

}  // namespace cmbench::spawn
