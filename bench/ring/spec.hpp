// The ring workload: K concurrent units in a ring pass one token H hops (K = 2 is ping-pong;
// Savina's ThreadRing, the Benchmarks Game's thread-ring). Unit u hands the token to unit
// (u + 1) mod K; unit 0 holds it first. Each hop mixes the holder's index into the token's value,
// so the final value proves that every hop happened, at the right unit, in the right order.
//
// A run creates the K units, waits until every one has started, then injects the token; the
// hop clock runs from that injection to the last hop. So the cell's time per iteration is the
// whole run (creating, passing, tearing down) and `switch_ns` is the mean time of one hop alone.
// Latency: the time per hop, averaged over each round of K hops (or over as many whole rounds as
// make at least `min_hops_per_sample` hops: reading the clock costs about 20 ns, which must not
// swamp a hop of a few nanoseconds). Units are the K units; items are hops.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "bench/harness/cell.hpp"
#include "bench/harness/measure.hpp"

namespace cmbench::ring {

using clock = std::chrono::steady_clock;

// Where the units run relative to each other, so that like is compared with like.
// same: every unit on one worker (one core for threads): a hop is a switch on one thread, the
// pure cost of the model's hand-off. cross: consecutive units on different workers (unit u on
// worker u mod W), so every hop wakes a unit on another core: the cost of a cross-core wake-up.
enum class handoff { same, cross };
inline const char* handoff_name(handoff h) noexcept {
  return h == handoff::same ? "same" : "cross";
}

struct spec {
  std::uint64_t units;  // K >= 2
  std::uint64_t hops;   // H >= 1
  handoff placement = handoff::same;
};

inline constexpr std::uint64_t min_hops_per_sample = 64;

// What the token carries from unit to unit.
struct token {
  std::uint64_t hops = 0;
  std::uint64_t value = 0;
  std::uint64_t until_mark = 0;  // hops left before the next clock reading
};

// The clock readings of one run, written only by the unit holding the token.
class hop_log {
 public:
  explicit hop_log(const spec& s);
  const spec s;
  const std::uint64_t hops_per_sample;

  // The token's first state. Called once every unit has started, which is the run's peak of
  // concurrency: marks it for the memory probe, then reads the clock: hops are timed from here.
  token inject(memory_probe& probe);
  std::uint64_t units_started() const noexcept {
    return units_started_.load(std::memory_order_acquire);
  }
  // Each unit calls this once when it starts.
  void unit_started() noexcept { units_started_.fetch_add(1, std::memory_order_acq_rel); }
  const std::vector<clock::time_point>& marks() const noexcept { return marks_; }

  // Where the units ran, reported by each unit at its last hop: a worker index, or a CPU where
  // the model pins threads. check() holds it against the spec's placement: same, one place for
  // every unit; cross over `places` >= 2, consecutive units at different places.
  bool last_hop_of_unit(const token& t) const noexcept { return t.hops + s.units > s.hops; }
  void ran_at(std::uint64_t u, int place) noexcept { places_[u] = place; }
  void spread_over(unsigned places) noexcept { places_used_ = places; }
  const std::vector<int>& places() const noexcept { return places_; }
  unsigned places_used() const noexcept { return places_used_; }

  void mark(std::uint64_t hops) noexcept { marks_[hops / hops_per_sample] = clock::now(); }
  void finish() noexcept { end_ = clock::now(); }
  clock::time_point end() const noexcept { return end_; }

 private:
  std::atomic<std::uint64_t> units_started_{0};
  std::vector<clock::time_point> marks_;  // marks_[k]: after k * hops_per_sample hops
  std::vector<int> places_;               // per unit; -1 until it reports
  unsigned places_used_ = 1;
  clock::time_point end_{};
};

// What unit u does to the token's value.
inline std::uint64_t mix(std::uint64_t value, std::uint64_t u) noexcept {
  return (value ^ u) * 0x9E3779B97F4A7C15ull + 1;
}

// The hop every model makes when unit `u` holds the token. Returns false once the token has made
// all its hops: the holder then ends the run instead of passing the token on.
inline bool hop(token& t, std::uint64_t u, hop_log& log) noexcept {
  t.value = mix(t.value, u);
  ++t.hops;
  if (--t.until_mark == 0) {
    log.mark(t.hops);
    t.until_mark = log.hops_per_sample;
  }
  if (t.hops < log.s.hops) return true;
  log.finish();
  return false;
}

// The final value of a correct run.
std::uint64_t reference_value(const spec& s);

// Hop count, final value (the reference_value of log.s) and started units against the spec;
// per-sample hop times to `lat`.
check_result check(const hop_log& log, const token& final_token, std::uint64_t reference,
                   latency_histogram& lat);

class model {
 public:
  virtual ~model() = default;
  // Creates the K units, waits until all have started, injects log.inject(probe) at unit 0, and
  // returns the token as the last hop left it.
  virtual token run(hop_log& log, memory_probe& probe) = 0;
};

std::unique_ptr<model> make_sync(const cell_env& env);
std::unique_ptr<model> make_threads(const cell_env& env);
std::unique_ptr<model> make_tbb(const cell_env& env);
std::unique_ptr<model> make_fibers(const cell_env& env);
std::unique_ptr<model> make_coro(const cell_env& env);

std::vector<cell> cells(const cell_env& env);

}  // namespace cmbench::ring
