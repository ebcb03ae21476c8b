// ring on threads: a thread per unit, each waiting on its own mailbox word. Passing the token is a
// store and a set of the next unit's word; waiting spins, then parks on a futex on the word
// (models/threads/handoff_word.hpp), and the passer makes a system call only when the receiver has
// parked. Placement is by CPU affinity: same pins every thread to one CPU, where a hop is a futex
// wake and a context switch; cross pins unit u to the u-th CPU modulo the workers, so consecutive
// units run on different cores. Receivers spin only where each has a core of its own (cross with
// no more units than CPUs): a spinner on a shared core only holds up the thread that would give it
// the token.
#include <sched.h>

#include <algorithm>
#include <latch>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "bench/ring/spec.hpp"
#include "models/threads/cpu_placement.hpp"
#include "models/threads/first_failure.hpp"
#include "models/threads/handoff_word.hpp"

namespace cmbench::ring {

namespace {

using threads_model::handoff_word;

enum : std::uint32_t { holds_token = 1, stop = 2 };

// How long a receiver with a core of its own spins before it parks: far longer than a hop between
// spinning threads (a cache-line transfer, ~0.1 us), short enough that a ring stalled elsewhere
// gives its cores back within the same millisecond, as the coroutine scheduler's search does.
constexpr std::chrono::microseconds spin_budget{200};

struct alignas(64) mailbox {
  handoff_word word;
  token t;
};

struct shared_state {
  hop_log& log;
  memory_probe& probe;
  std::vector<mailbox> boxes;
  std::latch started;
  std::vector<int> cpu_of_unit;
  std::chrono::nanoseconds spin;
  token last;
  std::atomic<bool> unpinned{false};  // a thread the kernel would not pin: the run fails
};

void unit(shared_state& st, std::uint64_t u) {
  if (!threads_model::pin_this_thread(st.cpu_of_unit[u]))
    st.unpinned.store(true, std::memory_order_relaxed);
  st.log.unit_started();
  st.probe.unit_started();
  st.started.count_down();
  mailbox& mine = st.boxes[u];
  mailbox& next = st.boxes[(u + 1) % st.boxes.size()];
  while (mine.word.take(st.spin) == holds_token) {
    token t = mine.t;
    const bool more = hop(t, u, st.log);
    if (st.log.last_hop_of_unit(t)) st.log.ran_at(u, sched_getcpu());
    if (!more) {
      st.last = t;
      for (std::uint64_t v = 0; v < st.boxes.size(); ++v)
        if (v != u) st.boxes[v].word.set(stop);
      break;
    }
    next.t = t;
    next.word.set(holds_token);
  }
  st.probe.unit_finished();
}

class thread_ring final : public model {
 public:
  explicit thread_ring(const cell_env& env) : workers_(env.workers) {}

  token run(hop_log& log, memory_probe& probe) override {
    const std::uint64_t k = log.s.units;
    const std::vector<int> cpus = threads_model::allowed_cpus();
    const std::size_t used =
        log.s.placement == handoff::same ? 1 : std::min<std::size_t>(cpus.size(), workers_);
    std::vector<int> cpu_of_unit(k);
    for (std::uint64_t u = 0; u < k; ++u) cpu_of_unit[u] = cpus[u % used];
    const bool own_core = log.s.placement == handoff::cross && k <= used;
    log.spread_over(static_cast<unsigned>(used));
    shared_state st{log,
                    probe,
                    std::vector<mailbox>(k),
                    std::latch(static_cast<std::ptrdiff_t>(k)),
                    std::move(cpu_of_unit),
                    own_core ? std::chrono::nanoseconds(spin_budget) : std::chrono::nanoseconds(0),
                    {}};
    std::vector<std::thread> threads;
    threads.reserve(k);
    threads_model::first_failure failure;
    for (std::uint64_t u = 0; u < k; ++u) {
      try {
        threads.emplace_back(unit, std::ref(st), u);
      } catch (const std::system_error& e) {
        failure.record(e);
        break;
      }
    }
    if (threads.size() == k) {
      st.started.wait();
      st.boxes[0].t = log.inject(probe);
      st.boxes[0].word.set(holds_token);
    } else {
      for (mailbox& box : st.boxes) box.word.set(stop);
    }
    for (std::thread& t : threads) t.join();
    failure.throw_if_any();
    if (st.unpinned.load()) throw std::runtime_error("the kernel refused to pin a unit's thread");
    return st.last;
  }

 private:
  unsigned workers_;
};

}  // namespace

std::unique_ptr<model> make_threads(const cell_env& env) {
  return std::make_unique<thread_ring>(env);
}

}  // namespace cmbench::ring
