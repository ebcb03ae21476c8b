// ring on coroutines: a coroutine per unit, each parked on its own slot. With handoff:same,
// passing the token resumes the next unit directly by symmetric transfer from the passer's
// await_suspend: no queue, no scheduler round trip, no atomic read-modify-write once every unit
// has parked. With handoff:cross, unit u lives on worker u mod W and the passer posts the next
// unit to its worker's own inbox (scheduler::post_to), which that worker, searching for work
// while idle, picks up: a cross-core wake-up per hop. The slot is a three-state rendezvous (empty,
// a parked unit's handle, or "token here"), so the token may reach a unit that has not parked
// yet, which happens while units are still starting on other workers.
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
  bool cross;  // units on workers u mod W, every hop posted to the next unit's worker
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
// empty or holds its own handle (nobody else can deliver while it holds the token), so parking
// is a plain store of its handle, which release_all reads. Nothing in the frame is touched once
// the token is out: the coroutine may be resumed on another worker before await_suspend returns.
//
// The first pass to the next unit goes through its slot: the next unit may still be starting.
// Once that pass has found it parked, the token reaches it again only after it has passed the
// token on, which it does by parking: from then on it is always parked when the token comes, its
// handle never changes, and the passer resumes it from `next_parked` (kept in the passer's frame)
// without touching its slot. The slot keeps the handle stored at its last parking, which is what
// release_all needs; the passer no longer clears it, and nobody but release_all reads it, when
// every unit but the finisher is parked. One store a hop, on the passer's own line.
struct pass_and_wait {
  slot& mine;
  slot& next;
  std::coroutine_handle<>& next_parked;  // the next unit's handle once a pass has found it parked
  coro::scheduler* post_to = nullptr;    // cross: resume the next unit on this scheduler's worker
  unsigned next_worker = 0;
  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> me) {
    slot& n = next;
    std::coroutine_handle<> waiting = next_parked;
    coro::scheduler* const sched = post_to;
    const unsigned target = next_worker;
    mine.state.store(me.address(), std::memory_order_release);
    if (!waiting) {
      void* w = n.state.load(std::memory_order_acquire);
      if (w == nullptr) {
        w = n.state.exchange(token_here, std::memory_order_acq_rel);
        if (w == nullptr) return std::noop_coroutine();  // next is starting; it will find it
      }
      n.state.store(nullptr, std::memory_order_relaxed);
      waiting = std::coroutine_handle<>::from_address(w);
      next_parked = waiting;  // still ours: the token has not left yet
    }
    if (sched == nullptr) return waiting;
    sched->post_to(target, waiting);
    return std::noop_coroutine();
  }
  void await_resume() const noexcept {}
};

#if CMBENCH_CORO_AWAIT_WRITES_FRAME
// co_await, handoff:cross, on compilers that may write to the frame after await_suspend (task.hpp):
// pass_and_wait's cross path, out of line and returning void. The finisher may resume and destroy
// this frame as soon as the token is out, which ASan saw with clang 14 in ring_test as a write to
// the freed frame right after post_to.
struct pass_and_post {
  slot& mine;
  slot& next;
  std::coroutine_handle<>& next_parked;
  coro::scheduler& sched;
  unsigned next_worker;
  bool await_ready() const noexcept { return false; }
  CMBENCH_CORO_HANDS_OFF void await_suspend(std::coroutine_handle<> me) {
    slot& n = next;
    std::coroutine_handle<> waiting = next_parked;
    coro::scheduler& s = sched;
    const unsigned target = next_worker;
    mine.state.store(me.address(), std::memory_order_release);
    if (!waiting) {
      void* w = n.state.load(std::memory_order_acquire);
      if (w == nullptr) {
        w = n.state.exchange(token_here, std::memory_order_acq_rel);
        if (w == nullptr) return;  // next is starting; it will find the token
      }
      n.state.store(nullptr, std::memory_order_relaxed);
      waiting = std::coroutine_handle<>::from_address(w);
      next_parked = waiting;  // still ours: the token has not left yet
    }
    s.post_to(target, waiting);
  }
  void await_resume() const noexcept {}
};
#endif

// co_await: continue on worker `target` (no suspension if already there).
struct resume_on {
  coro::scheduler& sched;
  unsigned target;
  bool await_ready() const noexcept {
    return coro::scheduler::current_worker() == static_cast<int>(target);
  }
  CMBENCH_CORO_HANDS_OFF void await_suspend(std::coroutine_handle<> me) {
    sched.post_to(target, me);
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
  const unsigned w = st.sched.workers();
  slot& mine = st.slots[u];
  slot& next = st.slots[(u + 1) % k];
  // An odd ring cannot alternate: with W = 2 the hop from unit K-1 to unit 0 stays on one worker.
  const auto worker_of = [w](std::uint64_t v) { return static_cast<unsigned>(v % w); };
  coro::scheduler* const post_next = st.cross ? &st.sched : nullptr;
  const unsigned next_worker = worker_of((u + 1) % k);
  std::coroutine_handle<> next_parked;
  if (st.cross) co_await resume_on{st.sched, worker_of(u)};
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
    const bool more = hop(st.tok, u, st.log);
    if (st.log.last_hop_of_unit(st.tok)) st.log.ran_at(u, coro::scheduler::current_worker());
    if (!more) {
      release_all(st, u);
      break;
    }
#if CMBENCH_CORO_AWAIT_WRITES_FRAME
    if (st.cross) {
      co_await pass_and_post{mine, next, next_parked, st.sched, next_worker};
      holding = !st.over.load(std::memory_order_acquire);
      continue;
    }
#endif
    co_await pass_and_wait{mine, next, next_parked, post_next, next_worker};
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
    ring_state st{
        log, probe, sched_, log.s.placement == handoff::cross, std::vector<slot>(log.s.units),
        {},  {}};
    log.spread_over(st.cross ? sched_.workers() : 1);
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
