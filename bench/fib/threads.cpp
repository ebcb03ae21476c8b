// fib on threads: each fork is a std::thread computing fib(n-1) while the forking thread computes
// fib(n-2), then joins it.
#include <system_error>
#include <thread>

#include "bench/fib/spec.hpp"
#include "models/threads/first_failure.hpp"

namespace cmbench::fib {

namespace {

struct shared_state {
  memory_probe& probe;
  threads_model::first_failure failure;
};

result call(std::uint64_t n, std::uint64_t cutoff, shared_state& st) {
  if (n < cutoff) return {serial_fib(n), 0};
  result forked;
  std::thread child;
  try {
    child = std::thread([&forked, n, cutoff, &st] {
      st.probe.unit_started();
      forked = call(n - 1, cutoff, st);
      st.probe.unit_finished();
    });
  } catch (const std::system_error& e) {
    st.failure.record(e);
  }
  const result inline_half = call(n - 2, cutoff, st);
  if (child.joinable()) child.join();
  return combine(forked, inline_half);
}

class thread_per_fork final : public model {
 public:
  result run(const spec& s, memory_probe& probe) override {
    shared_state st{probe, {}};
    result root;
    std::thread top([&] {
      probe.unit_started();
      root = call(s.n, s.cutoff, st);
      probe.unit_finished();
    });
    top.join();
    st.failure.throw_if_any();
    return root;
  }
};

}  // namespace

std::unique_ptr<model> make_threads(const cell_env&) {
  return std::make_unique<thread_per_fork>();
}

}  // namespace cmbench::fib
