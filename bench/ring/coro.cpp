// ring on coroutines: a coroutine per unit, each parked on its own slot. Passing the token
// resumes the next unit directly by symmetric transfer from the passer's await_suspend: no queue,
// no scheduler round trip, no atomic read-modify-write once every unit has parked. The slot is a
// three-state rendezvous (empty, a parked unit's handle, or "token here"), so the token may reach a
// unit that has not parked yet, which happens while units are still starting on other workers.
#include <coroutine>
#include <thread>
#include <vector>

#include "bench/ring/spec.hpp"
#include "models/coro/scheduler.hpp"

namespace cmbench::ring {

namespace {

void* const token_here = reinterpret_cast<void*>(std::uintptr_t{1});

struct alignas(64) slot {
  std::atomic<void*> state{nullptr};
};

struct ring_state {
  hop_log& log;
  memory_probe& probe;
  coro::scheduler& sched;
  std::vector<slot> slots;
  token tok;                      // read and written only by the unit holding the token
  std::atomic<bool> over{false};  // set by the unit that made the last hop
};

// co_await: park until the token (or the end of the run) arrives. Does not suspend if it has.
struct first_token {
  slot& mine;
  bool await_ready() const noexcept {
    return mine.state.load(std::memory_order_acquire) == token_here;
  }
  bool await_suspend(std::coroutine_handle<> me) noexcept {
    void* expected = nullptr;
    return mine.state.compare_exchange_strong(expected, me.address(), std::memory_order_acq_rel);
  }
  void await_resume() noexcept { mine.state.store(nullptr, std::memory_order_relaxed); }
};

// co_await: hand the token to the next unit and park until it comes back. The holder's slot is
// empty (nobody else can deliver while it holds the token), so parking is a plain store. Nothing
// in the frame is touched once the token is out: the coroutine may be resumed on another worker
// before await_suspend returns.
struct pass_and_wait {
  slot& mine;
  slot& next;
  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> me) noexcept {
    slot& n = next;
    mine.state.store(me.address(), std::memory_order_release);
    // Once every unit has parked, the next one is always waiting, and its slot is then touched
    // only by the token's holder: a load and a store, no locked instruction on the hot path.
    void* waiting = n.state.load(std::memory_order_acquire);
    if (waiting == nullptr) {
      waiting = n.state.exchange(token_here, std::memory_order_acq_rel);
      if (waiting == nullptr) return std::noop_coroutine();  // next is starting; it will find it
    }
    n.state.store(nullptr, std::memory_order_relaxed);
    return std::coroutine_handle<>::from_address(waiting);
  }
  void await_resume() const noexcept {}
};

// Run over: tell every other unit, resuming the parked ones through the scheduler (once per run).
void release_all(ring_state& st, std::uint64_t finisher) {
  st.over.store(true, std::memory_order_relaxed);  // published by the exchanges below
  for (std::uint64_t v = 0; v < st.slots.size(); ++v) {
    if (v == finisher) continue;
    void* waiting = st.slots[v].state.exchange(token_here, std::memory_order_acq_rel);
    if (waiting != nullptr) {
      st.slots[v].state.store(nullptr, std::memory_order_relaxed);
      st.sched.post(std::coroutine_handle<>::from_address(waiting));
    }
  }
}

coro::task<> unit(ring_state& st, std::uint64_t u) {
  st.log.unit_started();
  st.probe.unit_started();
  const std::uint64_t k = st.slots.size();
  slot& mine = st.slots[u];
  bool holding = true;
  if (u == 0) {
    // The others only have to reach their first co_await; some may be starting on another worker.
    while (st.log.units_started() < k) std::this_thread::yield();
    st.tok = st.log.inject(st.probe);
  } else {
    co_await first_token{mine};
    holding = !st.over.load(std::memory_order_acquire);
  }
  while (holding) {
    if (!hop(st.tok, u, st.log)) {
      release_all(st, u);
      break;
    }
    co_await pass_and_wait{mine, st.slots[(u + 1) % k]};
    holding = !st.over.load(std::memory_order_acquire);
  }
  st.probe.unit_finished();
}

coro::task<> ring(ring_state& st) {
  for (std::uint64_t u = 1; u < st.slots.size(); ++u) co_await coro::fork(unit(st, u));
  co_await coro::fork(unit(st, 0));
  co_await coro::join();
}

class coro_ring final : public model {
 public:
  explicit coro_ring(const cell_env& env) : sched_(env.workers) {}
  token run(hop_log& log, memory_probe& probe) override {
    ring_state st{log, probe, sched_, std::vector<slot>(log.s.units), {}, {}};
    sched_.run(ring(st));
    return st.tok;
  }

 private:
  coro::scheduler sched_;
};

}  // namespace

std::unique_ptr<model> make_coro(const cell_env& env) {
  return std::make_unique<coro_ring>(env);
}

}  // namespace cmbench::ring
