// The spawn workload's reference, check and cells; the models are in the files named after them.
#include <stdexcept>

#include "bench/spawn/spec.hpp"
#include "models/threads/thread_budget.hpp"

namespace cmbench::spawn {

std::uint64_t node_count(const spec& s) {
  return (fanout * s.leaves - 1) / (fanout - 1);
}

check_result check(const spec& s, const subtree& root) {
  check_result r;
  r.units = root.nodes;
  r.items = root.nodes;
  const std::uint64_t want_sum = s.leaves * (s.leaves - 1) / 2;
  if (root.sum != want_sum)
    r.error = "sum " + std::to_string(root.sum) + ", expected " + std::to_string(want_sum);
  else if (root.nodes != node_count(s))
    r.error = std::to_string(root.nodes) + " nodes, expected " + std::to_string(node_count(s));
  return r;
}

namespace {

struct iteration {
  iteration(model& m, const spec& s) : m(m), s(s) {}
  model& m;
  const spec s;
  subtree root;

  void warm_up() {
    memory_probe off;
    m.run(spec{fanout}, off);
  }
  void prepare() { root = {}; }
  void execute(memory_probe& probe) { root = m.run(s, probe); }
  check_result check(latency_histogram&) { return spawn::check(s, root); }
};

cell make_cell(const cell_env& env, const char* name,
               std::unique_ptr<model> (*make)(const cell_env&), const spec& s) {
  return compute_cell(
      cmbench::make_cell<iteration>("spawn", name, {{"leaves", s.leaves}}, env, make, s), env);
}

bool is_power_of_fanout(std::uint64_t v) {
  while (v > 1 && v % fanout == 0) v /= fanout;
  return v == 1;
}

}  // namespace

std::vector<cell> cells(const cell_env& env) {
  const spec s{env.prof.spawn_leaves};
  if (!is_power_of_fanout(s.leaves))
    throw std::invalid_argument("spawn: leaves must be a power of 10, got " +
                                std::to_string(s.leaves));
  std::vector<cell> out;
  out.push_back(make_cell(env, "sync", make_sync, s));
  cell threads = make_cell(env, "threads", make_threads, s);
  threads.skip_reason = threads_model::thread_budget_refusal(node_count(s), env.max_threads);
  out.push_back(std::move(threads));
  out.push_back(make_cell(env, "tbb", make_tbb, s));
  out.push_back(make_cell(env, "fibers", make_fibers, s));
  out.push_back(make_cell(env, "coro", make_coro, s));
  return out;
}

}  // namespace cmbench::spawn
