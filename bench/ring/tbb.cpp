// ring on oneTBB: a flow graph of K serial multifunction_nodes joined in a cycle. The token is a
// message; each hop is one node body, which runs as a task that oneTBB schedules when the
// previous node puts the message on its edge. We chose the flow graph over hand-spawned tasks
// because it is oneTBB's own answer to "units that pass messages": each node is a persistent
// unit with its own concurrency limit, and the graph owns the tasks. A node that makes the last
// hop puts nothing, and the graph drains.
#include <oneapi/tbb/flow_graph.h>

#include <deque>
#include <tuple>

#include "bench/ring/spec.hpp"
#include "models/tbb/arena.hpp"

namespace cmbench::ring {

namespace {

namespace flow = oneapi::tbb::flow;
using node = flow::multifunction_node<token, std::tuple<token>>;

class flow_graph_ring final : public model {
 public:
  explicit flow_graph_ring(const cell_env& env) : arena_(env.workers) {}

  token run(hop_log& log, memory_probe& probe) override {
    token last;
    arena_.slots.execute([&] {
      flow::graph g;
      std::deque<node> nodes;  // nodes do not move once built
      for (std::uint64_t u = 0; u < log.s.units; ++u) {
        nodes.emplace_back(g, flow::serial,
                           [u, &log, &last](token t, node::output_ports_type& out) {
                             if (hop(t, u, log))
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

 private:
  tbb_model::arena arena_;
};

}  // namespace

std::unique_ptr<model> make_tbb(const cell_env& env) {
  return std::make_unique<flow_graph_ring>(env);
}

}  // namespace cmbench::ring
