// The pipeline workload's reference, check and cells; the models are in the files named after them.
#include <cstdio>
#include <stdexcept>

#include "bench/pipeline/spec.hpp"
#include "models/threads/thread_budget.hpp"

namespace cmbench::pipeline {

// Three rounds of splitmix64's finaliser, keyed by the stage: a few nanoseconds of work that no
// compiler can skip, so the cells measure what moving an item between units costs.
std::uint64_t stage(std::uint64_t s, std::uint64_t value) noexcept {
  std::uint64_t v = value ^ ((s + 1) * 0x9E3779B97F4A7C15ull);
  for (int round = 0; round < 3; ++round) {
    v ^= v >> 30;
    v *= 0xBF58476D1CE4E5B9ull;
    v ^= v >> 27;
    v *= 0x94D049BB133111EBull;
    v ^= v >> 31;
  }
  return v;
}

std::uint64_t reference_checksum(const spec& s) {
  std::uint64_t checksum = checksum_basis;
  for (std::uint64_t i = 0; i < s.items; ++i) {
    std::uint64_t v = source_value(i);
    for (std::uint64_t k = 0; k < s.stages; ++k) v = stage(k, v);
    checksum = fold(checksum, v);
  }
  return checksum;
}

check_result check(const spec& s, std::uint64_t want_checksum, const run_log& log,
                   latency_histogram& lat) {
  check_result r;
  r.units = log.units();
  r.items = s.items;
  if (log.count() != s.items) {
    r.error =
        "consumed " + std::to_string(log.count()) + " items, expected " + std::to_string(s.items);
    return r;
  }
  if (log.misordered()) {
    r.error = "item " + std::to_string(log.first_wrong_seq()) + " arrived in position " +
              std::to_string(log.first_wrong_position());
    return r;
  }
  if (log.checksum() != want_checksum) {
    r.error = "checksum " + std::to_string(log.checksum()) + ", expected " +
              std::to_string(want_checksum);
    return r;
  }
  if (log.units() != s.stages + 2) {
    r.error = std::to_string(log.units()) + " units finished, expected " +
              std::to_string(s.stages + 2) + " (producer, stages, consumer)";
    return r;
  }
  for (std::uint64_t k = 0; k < s.items; ++k) {
    const std::int64_t latency = log.consumed_ns()[k] - log.made_ns()[k];
    if (latency < 0) {
      r.error = "item " + std::to_string(k) + " was consumed before it was made";
      return r;
    }
    lat.record(static_cast<std::uint64_t>(latency));
  }
  return r;
}

namespace {

struct iteration {
  iteration(model& m, const spec& s) : m(m), s(s), want(reference_checksum(s)) {}
  model& m;
  const spec s;
  const std::uint64_t want;
  std::unique_ptr<run_log> log;

  // Enough items to fill every channel, and the paced path when the cell sleeps.
  void warm_up() {
    const spec tiny{4 * s.capacity, s.stages, s.capacity, s.delay_us == 0 ? 0u : 1u};
    run_log tiny_log(tiny.items);
    memory_probe off;
    m.run(tiny, tiny_log, off);
  }
  void prepare() { log = std::make_unique<run_log>(s.items); }
  void execute(memory_probe& probe) { m.run(s, *log, probe); }
  check_result check(latency_histogram& lat) { return pipeline::check(s, want, *log, lat); }
};

cell make_cell(const cell_env& env, const char* name,
               std::unique_ptr<model> (*make)(const cell_env&), const spec& s) {
  cell c = cmbench::make_cell<iteration>("pipeline", name,
                                         {{"items", s.items},
                                          {"stages", s.stages},
                                          {"capacity", s.capacity},
                                          {"delay_us", s.delay_us}},
                                         env, make, s);
  // Unpaced, the stages compute flat out; paced, they wait on the producer's clock.
  if (s.delay_us == 0) return compute_cell(std::move(c), env);
  return c;
}

// A paced run lasts items x delay in every model, since each is bound by its producer's schedule.
std::optional<std::string> over_budget(const spec& s, const profile& prof) {
  const double expected_s = static_cast<double>(s.items) * static_cast<double>(s.delay_us) / 1e6;
  if (expected_s <= prof.iteration_budget_s) return std::nullopt;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "the producer's schedule (items x delay) takes %.1f s per iteration, above the %s "
                "profile's %.1f s budget",
                expected_s, prof.name.c_str(), prof.iteration_budget_s);
  return std::string(buf);
}

}  // namespace

std::vector<cell> cells(const cell_env& env) {
  const profile& prof = env.prof;
  if (prof.pipeline_capacity == 0) throw std::invalid_argument("pipeline: capacity must be >= 1");
  const spec unpaced{prof.pipeline_items, prof.pipeline_stages, prof.pipeline_capacity, 0};
  const spec paced{prof.pipeline_paced_items, prof.pipeline_stages, prof.pipeline_capacity,
                   prof.pipeline_delay_us};
  std::vector<cell> out;
  for (const spec& s : {unpaced, paced}) {
    const std::optional<std::string> budget = over_budget(s, prof);
    const auto add = [&](const char* name, std::unique_ptr<model> (*make)(const cell_env&)) {
      out.push_back(make_cell(env, name, make, s));
      out.back().skip_reason = budget;
    };
    add("sync", make_sync);
    add("threads", make_threads);
    if (!budget)
      out.back().skip_reason = threads_model::thread_budget_refusal(s.stages + 2, env.max_threads);
    add("tbb", make_tbb);
    add("fibers", make_fibers);
    add("coro", make_coro);
  }
  return out;
}

}  // namespace cmbench::pipeline
