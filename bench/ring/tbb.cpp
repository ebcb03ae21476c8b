// ring on oneTBB. handoff:same: a flow graph of K serial multifunction_nodes joined in a cycle,
// in an arena of one thread. The token is a message; each hop is one node body, which runs as a
// task that oneTBB schedules when the previous node puts the message on its edge. We chose the
// flow graph over hand-spawned tasks because it is oneTBB's own answer to "units that pass
// messages": each node is a persistent unit with its own concurrency limit, and the graph owns
// the tasks. A node that makes the last hop puts nothing, and the graph drains.
//
// handoff:cross: a flow graph cannot span arenas, and oneTBB places work on a thread only by
// arena: so one arena of one slot per worker (at most one per CPU), each arena's thread pinned to
// its own CPU by a task_scheduler_observer (the pattern oneTBB documents for thread affinity), and
// unit u's hops run as tasks enqueued into arena u mod W (task_arena::enqueue). Each hop is then a
// task handed to another core's thread, which spins for a while before it sleeps, as oneTBB's
// workers do.
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_scheduler_observer.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <latch>
#include <memory>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "bench/ring/spec.hpp"
#include "models/tbb/arena.hpp"
#include "models/threads/cpu_placement.hpp"

namespace cmbench::ring {

namespace {

namespace tbb = oneapi::tbb;
namespace flow = tbb::flow;
using node = flow::multifunction_node<token, std::tuple<token>>;

// Pins every thread that enters the observed arena to one CPU; frees it again when it leaves, so
// that a worker the market moves to another arena takes that arena's CPU.
class pin_on_entry final : public tbb::task_scheduler_observer {
 public:
  pin_on_entry(tbb::task_arena& a, int cpu, std::vector<int> all)
      : tbb::task_scheduler_observer(a), cpu_(cpu), all_(std::move(all)) {
    observe(true);
  }
  ~pin_on_entry() override { observe(false); }
  void on_scheduler_entry(bool) override {
    if (!threads_model::pin_this_thread(cpu_)) unpinned.store(true, std::memory_order_relaxed);
  }
  void on_scheduler_exit(bool) override { threads_model::allow_cpus(all_); }
  std::atomic<bool> unpinned{false};

 private:
  int cpu_;
  std::vector<int> all_;
};

// One arena of one slot per worker, each on a CPU of its own (so at most one per CPU), no slot
// kept for an outside thread: the run's caller only injects the token and waits.
class cross_arenas {
 public:
  explicit cross_arenas(unsigned workers)
      : cpus_(threads_model::allowed_cpus()),
        count_(std::min<unsigned>(workers, static_cast<unsigned>(cpus_.size()))),
        limit_(tbb::global_control::max_allowed_parallelism, count_ + 1) {
    for (unsigned i = 0; i < count_; ++i) {
      arenas_.push_back(std::make_unique<tbb::task_arena>(1, 0));
      arenas_.back()->initialize();
      pins_.push_back(std::make_unique<pin_on_entry>(*arenas_.back(), cpus_[i], cpus_));
    }
  }
  unsigned size() const noexcept { return static_cast<unsigned>(arenas_.size()); }
  tbb::task_arena& operator[](std::uint64_t u) { return *arenas_[u % arenas_.size()]; }
  bool pinned() const noexcept {
    return std::none_of(pins_.begin(), pins_.end(),
                        [](const auto& p) { return p->unpinned.load(); });
  }

 private:
  std::vector<int> cpus_;
  unsigned count_;
  tbb::global_control limit_;
  std::vector<std::unique_ptr<tbb::task_arena>> arenas_;
  std::vector<std::unique_ptr<pin_on_entry>> pins_;
};

struct cross_ring {
  hop_log& log;
  cross_arenas& arenas;
  token last;
  std::latch done{1};

  // Unit u holds the token: hop, then hand it to unit u + 1 in that unit's arena.
  void hold(std::uint64_t u, token t) {
    const bool more = hop(t, u, log);
    if (log.last_hop_of_unit(t)) log.ran_at(u, sched_getcpu());  // its arena's CPU
    if (!more) {
      last = t;
      done.count_down();
      return;
    }
    const std::uint64_t next = (u + 1) % log.s.units;
    arenas[next].enqueue([this, next, t] { hold(next, t); });
  }
};

class flow_graph_ring final : public model {
 public:
  explicit flow_graph_ring(const cell_env& env) : workers_(env.workers) {}

  token run(hop_log& log, memory_probe& probe) override {
    return log.s.placement == handoff::cross ? run_cross(log, probe) : run_same(log, probe);
  }

 private:
  token run_cross(hop_log& log, memory_probe& probe) {
    // One placement's threads at a time: each sets the market's thread limit, and the smaller
    // of two limits would leave an arena without a thread.
    arena_.reset();
    if (!cross_) cross_ = std::make_unique<cross_arenas>(workers_);
    // The units are the K hop bodies, one per arena slot in turn; they exist for the whole run.
    for (std::uint64_t u = 0; u < log.s.units; ++u) {
      log.unit_started();
      probe.unit_started();
    }
    cross_ring r{log, *cross_, {}};
    log.spread_over(cross_->size());
    const token first = log.inject(probe);
    (*cross_)[0].enqueue([&r, first] { r.hold(0, first); });
    r.done.wait();
    for (std::uint64_t u = 0; u < log.s.units; ++u) probe.unit_finished();
    if (!cross_->pinned()) throw std::runtime_error("the kernel refused to pin an arena's thread");
    return r.last;
  }

  token run_same(hop_log& log, memory_probe& probe) {
    cross_.reset();
    if (!arena_) arena_ = std::make_unique<tbb_model::arena>(workers_);
    token last;
    arena_->slots.execute([&] {
      flow::graph g;
      std::deque<node> nodes;  // nodes do not move once built
      for (std::uint64_t u = 0; u < log.s.units; ++u) {
        nodes.emplace_back(g, flow::serial,
                           [u, &log, &last](token t, node::output_ports_type& out) {
                             const bool more = hop(t, u, log);
                             if (log.last_hop_of_unit(t))
                               log.ran_at(u, tbb::this_task_arena::current_thread_index());
                             if (more)
                               std::get<0>(out).try_put(t);
                             else
                               last = t;
                           });
        log.unit_started();
        probe.unit_started();
      }
      for (std::uint64_t u = 0; u < nodes.size(); ++u)
        flow::make_edge(flow::output_port<0>(nodes[u]), nodes[(u + 1) % nodes.size()]);
      nodes[0].try_put(log.inject(probe));
      g.wait_for_all();
      for (std::uint64_t u = 0; u < nodes.size(); ++u) probe.unit_finished();
    });
    return last;
  }

  unsigned workers_;
  std::unique_ptr<tbb_model::arena> arena_;
  std::unique_ptr<cross_arenas> cross_;
};

}  // namespace

std::unique_ptr<model> make_tbb(const cell_env& env) {
  return std::make_unique<flow_graph_ring>(env);
}

}  // namespace cmbench::ring
