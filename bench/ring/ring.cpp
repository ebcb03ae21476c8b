// The ring workload's reference, check and cells; the models are in the files named after them.
#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>

#include "bench/ring/spec.hpp"
#include "models/threads/thread_budget.hpp"

namespace cmbench::ring {

namespace {

// Whole rounds of K hops per latency sample, at least min_hops_per_sample hops.
std::uint64_t sample_size(std::uint64_t units) {
  return units * ((min_hops_per_sample + units - 1) / units);
}

}  // namespace

hop_log::hop_log(const spec& s)
    : s(s),
      hops_per_sample(sample_size(s.units)),
      marks_(s.hops / hops_per_sample + 1),
      places_(s.units, -1) {}

token hop_log::inject(memory_probe& probe) {
  probe.at_peak();
  token t;
  t.until_mark = hops_per_sample;
  marks_[0] = clock::now();
  return t;
}

std::uint64_t reference_value(const spec& s) {
  std::uint64_t value = 0;
  for (std::uint64_t h = 0; h < s.hops; ++h) value = mix(value, h % s.units);
  return value;
}

namespace {

// Proof that the run had the placement it is named after, from where each unit made its last hop.
std::string placement_error(const hop_log& log) {
  const std::vector<int>& at = log.places();
  const std::uint64_t hopped = std::min(log.s.units, log.s.hops);
  for (std::uint64_t u = 0; u < hopped; ++u)
    if (at[u] < 0) return "unit " + std::to_string(u) + " did not say where it ran";
  const auto place = [&](std::uint64_t u) { return std::to_string(at[u]); };
  for (std::uint64_t u = 1; u < hopped; ++u) {
    if (log.s.placement == handoff::same && at[u] != at[0])
      return "handoff:same, but unit 0 ran at " + place(0) + " and unit " + std::to_string(u) +
             " at " + place(u);
    if (log.s.placement == handoff::cross && log.places_used() >= 2 && at[u] == at[u - 1])
      return "handoff:cross, but units " + std::to_string(u - 1) + " and " + std::to_string(u) +
             " both ran at " + place(u);
  }
  return {};
}

}  // namespace

check_result check(const hop_log& log, const token& final_token, std::uint64_t reference,
                   latency_histogram& lat) {
  check_result r;
  r.units = log.units_started();
  r.items = final_token.hops;
  if (final_token.hops != log.s.hops)
    r.error = "the token made " + std::to_string(final_token.hops) + " hops, expected " +
              std::to_string(log.s.hops);
  else if (final_token.value != reference)
    r.error =
        "the token's final value differs from the reference: a hop was lost, repeated or "
        "made by the wrong unit";
  else if (r.units != log.s.units)
    r.error = std::to_string(r.units) + " units started, expected " + std::to_string(log.s.units);
  else
    r.error = placement_error(log);
  if (!r.error.empty()) return r;
  const auto& m = log.marks();
  const double per_sample = static_cast<double>(log.hops_per_sample);
  for (std::size_t k = 1; k < m.size(); ++k)
    lat.record(static_cast<std::int64_t>(
        static_cast<double>(std::chrono::nanoseconds(m[k] - m[k - 1]).count()) / per_sample));
  r.clocked_s = std::chrono::duration<double>(log.end() - m[0]).count();
  return r;
}

namespace {

struct iteration {
  static constexpr const char* clocked_counter = "switch_ns";

  iteration(model& m, const spec& s) : m(m), s(s), reference(reference_value(s)) {}
  model& m;
  const spec s;
  const std::uint64_t reference;
  std::unique_ptr<hop_log> log;
  token last;

  void warm_up() {
    memory_probe off;
    hop_log tiny({s.units, s.units, s.placement});  // one round: every unit starts and passes once
    m.run(tiny, off);
  }
  void prepare() {
    log = std::make_unique<hop_log>(s);
    last = {};
  }
  void execute(memory_probe& probe) { last = m.run(*log, probe); }
  check_result check(latency_histogram& lat) { return ring::check(*log, last, reference, lat); }
};

cell make_cell(const cell_env& env, const char* name,
               std::unique_ptr<model> (*make)(const cell_env&), const spec& s) {
  cell c = cmbench::make_cell<iteration>(
      "ring", name, {{"units", s.units}, {"hops", s.hops}, {"handoff", handoff_name(s.placement)}},
      env, make, s);
  // Every unit on one worker: the runtime is built with one, whatever --workers says.
  c.one_worker = s.placement == handoff::same;
  return c;
}

}  // namespace

std::vector<cell> cells(const cell_env& env) {
  std::vector<cell> out;
  for (std::uint64_t k : env.prof.ring_sizes) {
    if (k < 2) throw std::invalid_argument("ring: a ring needs at least 2 units");
    // same: every model's units on one worker, sync's calls beside them as the floor.
    cell_env one = env;
    one.workers = 1;
    const spec same{k, env.prof.ring_hops, handoff::same};
    out.push_back(make_cell(one, "sync", make_sync, same));
    cell threads = make_cell(one, "threads", make_threads, same);
    threads.skip_reason = threads_model::thread_budget_refusal(k, env.max_threads);
    out.push_back(std::move(threads));
    out.push_back(make_cell(one, "tbb", make_tbb, same));
    out.push_back(make_cell(one, "fibers", make_fibers, same));
    out.push_back(make_cell(one, "coro", make_coro, same));
    // cross: a call has no other core to cross to, so sync has no cell.
    const spec cross{k, env.prof.ring_hops, handoff::cross};
    const std::optional<std::string> single =
        env.workers < 2 ? std::optional<std::string>("handoff:cross needs 2 or more workers")
                        : std::nullopt;
    threads = make_cell(env, "threads", make_threads, cross);
    threads.skip_reason = threads_model::thread_budget_refusal(k, env.max_threads);
    if (!threads.skip_reason) threads.skip_reason = single;
    out.push_back(std::move(threads));
    using maker = std::unique_ptr<model> (*)(const cell_env&);
    const std::pair<const char*, maker> pools[] = {
        {"tbb", make_tbb}, {"fibers", make_fibers}, {"coro", make_coro}};
    for (const auto& [name, make] : pools) {
      cell c = make_cell(env, name, make, cross);
      c.skip_reason = single;
      out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace cmbench::ring
