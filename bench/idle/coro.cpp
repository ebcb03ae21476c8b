// idle on coroutines: a coroutine per unit, forked on the scheduler, each parked on one event.
// The event's waiter list is intrusive (each waiter is the awaiter object in the parked
// coroutine's own frame), so a parked unit costs its frame and nothing else. The last unit to
// park takes the whole list and posts every waiter back to the scheduler.
#include <coroutine>

#include "bench/idle/spec.hpp"
#include "models/coro/scheduler.hpp"
#include "models/coro/spinlock.hpp"

namespace cmbench::idle {

namespace {

struct event_state;

// co_await park{...}: register on the event, then suspend; the last to register releases all.
struct park {
  event_state& ev;
  park* next = nullptr;
  std::coroutine_handle<> h;

  bool await_ready() const noexcept { return false; }
  CMBENCH_CORO_HANDS_OFF void await_suspend(std::coroutine_handle<> me);
  void await_resume() const noexcept {}
};

struct event_state {
  idle_log& log;
  memory_probe& probe;
  coro::scheduler& sched;
  coro::spinlock lock;
  park* waiters = nullptr;  // guarded by lock

  void release_all() {
    park* w;
    {
      std::lock_guard lk(lock);
      w = std::exchange(waiters, nullptr);
    }
    while (w != nullptr) {
      park* next = w->next;  // w lives in a frame that may be gone once it is posted
      sched.post(w->h);
      w = next;
    }
  }
};

void park::await_suspend(std::coroutine_handle<> me) {
  event_state& e = ev;  // nothing of this frame is touched after the push: see release_all
  h = me;
  {
    std::lock_guard lk(e.lock);
    next = e.waiters;
    e.waiters = this;
  }
  if (!e.log.last_to_park()) return;
  e.probe.at_peak();
  e.log.released();
  e.release_all();
}

coro::task<> unit(event_state& ev, std::uint64_t u) {
  ev.log.unit_started();
  ev.probe.unit_started();
  co_await park{ev, nullptr, {}};
  ev.log.resumed(u);
  ev.probe.unit_finished();
}

coro::task<> park_all(event_state& ev) {
  for (std::uint64_t u = 0; u < ev.log.size(); ++u) co_await coro::fork(unit(ev, u));
  co_await coro::join();
}

class coro_model final : public model {
 public:
  explicit coro_model(const cell_env& env) : sched_(env.workers) {}
  void run(idle_log& log, memory_probe& probe) override {
    event_state ev{log, probe, sched_, {}, nullptr};
    sched_.run(park_all(ev));
  }

 private:
  coro::scheduler sched_;
};

}  // namespace

std::unique_ptr<model> make_coro(const cell_env& env, const spec&) {
  return std::make_unique<coro_model>(env);
}

}  // namespace cmbench::idle
