// spawn on threads: each node is a std::thread that starts a thread per child and joins them.
#include <array>
#include <system_error>
#include <thread>

#include "bench/spawn/spec.hpp"
#include "models/threads/first_failure.hpp"

namespace cmbench::spawn {

namespace {

struct shared_state {
  memory_probe& probe;
  threads_model::first_failure failure;
};

void node(std::uint64_t first, std::uint64_t size, shared_state& st, subtree& out) {
  st.probe.unit_started();
  subtree t{first, 1};
  if (size > 1) {
    const std::uint64_t step = size / fanout;
    std::array<subtree, fanout> results{};
    std::array<std::thread, fanout> children;
    for (std::uint64_t i = 0; i < fanout; ++i) {
      try {
        children[i] = std::thread(node, first + i * step, step, std::ref(st), std::ref(results[i]));
      } catch (const std::system_error& e) {
        st.failure.record(e);
        break;
      }
    }
    for (auto& child : children)
      if (child.joinable()) child.join();
    t = combine(results);
  }
  st.probe.unit_finished();
  out = t;
}

class thread_per_node final : public model {
 public:
  subtree run(const spec& s, memory_probe& probe) override {
    shared_state st{probe, {}};
    subtree root;
    std::thread top(node, 0, s.leaves, std::ref(st), std::ref(root));
    top.join();
    st.failure.throw_if_any();
    return root;
  }
};

}  // namespace

std::unique_ptr<model> make_threads(const cell_env&) {
  return std::make_unique<thread_per_node>();
}

}  // namespace cmbench::spawn
