// The spawn workload: the skynet tree. Every inner node spawns `fanout` (10) children, each as a
// separate concurrent unit, down to `leaves` leaves; leaf i returns i. Each node returns the sum of
// its subtree and how many nodes the subtree has, so the root must report
// leaves*(leaves-1)/2 and the tree's node count, (fanout*leaves-1)/(fanout-1). Items are nodes.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "bench/harness/cell.hpp"
#include "bench/harness/measure.hpp"

namespace cmbench::spawn {

inline constexpr std::uint64_t fanout = 10;

struct spec {
  std::uint64_t leaves;  // a power of fanout
};

struct subtree {
  std::uint64_t sum = 0;
  std::uint64_t nodes = 0;
};

// An inner node's result from its children's: their sums, and their nodes plus itself.
template <class Children>
subtree combine(const Children& children) {
  subtree t{0, 1};
  for (const subtree& c : children) {
    t.sum += c.sum;
    t.nodes += c.nodes;
  }
  return t;
}

std::uint64_t node_count(const spec& s);
check_result check(const spec& s, const subtree& root);

class model {
 public:
  virtual ~model() = default;
  virtual subtree run(const spec& s, memory_probe& probe) = 0;
};

std::unique_ptr<model> make_sync(const cell_env& env);
std::unique_ptr<model> make_threads(const cell_env& env);
std::unique_ptr<model> make_tbb(const cell_env& env);
std::unique_ptr<model> make_fibers(const cell_env& env);
std::unique_ptr<model> make_coro(const cell_env& env);

std::vector<cell> cells(const cell_env& env);

}  // namespace cmbench::spawn
