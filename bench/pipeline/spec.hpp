// The pipeline workload: a producer, S stages and a consumer joined by bounded channels.
//
// The producer generates M items; item i has sequence number i and the value source_value(i).
// When paced it waits before each item, as an asyncio async generator that sleeps between
// yields: item i is made at start + (i + 1) * delay_us, on an absolute schedule so that lateness
// does not accumulate, with the model's own sleep. Each item passes through S stages in turn,
// stage s replacing its value with stage(s, value), a pure function every model calls; the units
// are joined by bounded channels (FIFO queues) of capacity C, so at most C items wait between two
// units (fibers: at least C, see fibers.cpp). The consumer checks that the sequence numbers arrive
// 0..M-1 in order and folds the values into an order-sensitive checksum; the check compares the
// count, the order and the checksum with a serial reference. Latency is each item's time from made
// (timestamped by the producer) to consumed (timestamped by the consumer). Units are the producer,
// the S stages and the consumer, S + 2 in every model; items are the M items.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "bench/harness/cell.hpp"
#include "bench/harness/measure.hpp"

namespace cmbench::pipeline {

using clock = std::chrono::steady_clock;

struct spec {
  std::uint64_t items;     // M
  std::uint64_t stages;    // S
  std::uint64_t capacity;  // C >= 1: items a channel holds
  std::uint64_t delay_us;  // the producer's pause before each item; 0: unpaced
};

struct item {
  std::uint64_t seq = 0;
  std::uint64_t value = 0;
};

inline std::uint64_t source_value(std::uint64_t seq) noexcept {
  return seq * 0x9E3779B97F4A7C15ull + 1;
}

// What stage s does to a value: a few rounds of integer mixing. Out of line (pipeline.cpp) so that
// no model's compiler sees through it.
std::uint64_t stage(std::uint64_t s, std::uint64_t value) noexcept;

// The consumer's checksum: FNV-1a over the 64-bit values, so a reordered item changes it.
inline constexpr std::uint64_t checksum_basis = 0xCBF29CE484222325ull;
inline std::uint64_t fold(std::uint64_t checksum, std::uint64_t value) noexcept {
  return (checksum ^ value) * 0x100000001B3ull;
}

std::uint64_t reference_checksum(const spec& s);

// When the paced producer makes item `seq`.
inline clock::time_point due(clock::time_point start, const spec& s, std::uint64_t seq) {
  return start + std::chrono::microseconds(s.delay_us * (seq + 1));
}

// What a run leaves for the check. Timestamps go into vectors sized before the run; produce() is
// called by the producer unit only, consume() by the consumer unit only, one item at a time.
class run_log {
 public:
  explicit run_log(std::uint64_t items) : made_ns_(items), consumed_ns_(items) {}

  // Makes item `seq` and timestamps it.
  item produce(std::uint64_t seq) noexcept {
    if (seq < made_ns_.size()) made_ns_[seq] = now_ns();
    return {seq, source_value(seq)};
  }
  void consume(const item& it) noexcept {
    if (count_ < consumed_ns_.size()) consumed_ns_[count_] = now_ns();
    if (it.seq != count_ && !misordered_) {
      misordered_ = true;
      first_wrong_position_ = count_;
      first_wrong_seq_ = it.seq;
    }
    checksum_ = fold(checksum_, it.value);
    ++count_;
  }
  // Each unit reports once, at its end.
  void unit_finished() noexcept { units_.fetch_add(1, std::memory_order_relaxed); }

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t checksum() const noexcept { return checksum_; }
  std::uint64_t units() const noexcept { return units_.load(std::memory_order_relaxed); }
  bool misordered() const noexcept { return misordered_; }
  std::uint64_t first_wrong_position() const noexcept { return first_wrong_position_; }
  std::uint64_t first_wrong_seq() const noexcept { return first_wrong_seq_; }
  const std::vector<std::int64_t>& made_ns() const noexcept { return made_ns_; }
  const std::vector<std::int64_t>& consumed_ns() const noexcept { return consumed_ns_; }

 private:
  static std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch())
        .count();
  }

  std::vector<std::int64_t> made_ns_;      // by sequence number
  std::vector<std::int64_t> consumed_ns_;  // by arrival position
  std::uint64_t count_ = 0;
  std::uint64_t checksum_ = checksum_basis;
  bool misordered_ = false;
  std::uint64_t first_wrong_position_ = 0;
  std::uint64_t first_wrong_seq_ = 0;
  std::atomic<std::uint64_t> units_{0};
};

// Compares a run's log with the reference checksum; fills the latency histogram.
check_result check(const spec& s, std::uint64_t want_checksum, const run_log& log,
                   latency_histogram& lat);

// A model's implementation: its runtime lives as long as the object (one benchmark run).
class model {
 public:
  virtual ~model() = default;
  virtual void run(const spec& s, run_log& log, memory_probe& probe) = 0;
};

std::unique_ptr<model> make_sync(const cell_env& env);
std::unique_ptr<model> make_threads(const cell_env& env);
std::unique_ptr<model> make_tbb(const cell_env& env);
std::unique_ptr<model> make_fibers(const cell_env& env);
std::unique_ptr<model> make_coro(const cell_env& env);

std::vector<cell> cells(const cell_env& env);

}  // namespace cmbench::pipeline
