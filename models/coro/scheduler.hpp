// scheduler: worker threads with work-stealing deques, a timer queue, an I/O readiness reactor,
// and run() to drive a task.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <thread>
#include <vector>

#include "models/coro/spinlock.hpp"
#include "models/coro/task.hpp"

struct epoll_event;

namespace cmbench::coro {

using clock = std::chrono::steady_clock;

// Written here because no coroutine runtime is packaged for our toolchains. It is kept to what
// the workloads need: fork/join (task.hpp), timers, waits for socket readiness, cross-thread
// wake-ups, and run().
//
// Readiness is the scheduler's own epoll, polled by the workers themselves, as tokio and Asio's
// io_context do it: a worker with nothing to run polls it while it searches, and the last to go
// idle blocks in epoll_wait instead of on the condition variable, so a socket that becomes ready
// wakes the worker that will resume its coroutine, with no thread in between. Busy workers poll
// it every 64 tasks, so I/O is not starved by a long run of ready work.
//
// A scheduler with N workers starts N-1 threads; the thread that calls run() is worker 0 for the
// duration of the call, as a thread calling oneTBB's task_arena::execute joins the arena. That
// keeps a hand-off to a sleeping thread out of every measured run.
class scheduler {
 public:
  explicit scheduler(unsigned workers);
  ~scheduler();
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  // Runs t to completion with the calling thread as worker 0; returns its result or rethrows.
  // Not reentrant: call it from outside the scheduler, one run at a time.
  template <class T>
  T run(task<T> t);

  unsigned workers() const noexcept { return static_cast<unsigned>(workers_.size()); }

  // Resume h on some worker soon. Any thread may call it.
  void post(std::coroutine_handle<> h);
  // Resume h on worker `w` (< workers()) soon, never on another: its inbox is not stolen from.
  // Any thread may call it. For placing work on a given core (ring's cross-core hand-off).
  void post_to(unsigned w, std::coroutine_handle<> h);
  // Resume h on some worker once `deadline` has passed.
  void post_at(clock::time_point deadline, std::coroutine_handle<> h);
  // Resume h on some worker once fd has any of `events` (EPOLLIN, EPOLLOUT), an error or a
  // hang-up. One-shot: each wait arms fd again (one epoll_ctl). fd must be non-blocking and may
  // have one waiter at a time; closing it forgets it. From here on h may be resumed at any moment.
  void post_when_ready(int fd, std::uint32_t events, std::coroutine_handle<> h);

  // Worker index of the calling thread while it works for a scheduler, or -1.
  static int current_worker() noexcept;

 private:
  friend void detail::wake_one(scheduler*);
  struct root;
  struct timer {
    std::int64_t deadline_ns;
    std::coroutine_handle<> h;
    bool operator>(const timer& o) const { return deadline_ns > o.deadline_ns; }
  };
  struct alignas(64) worker : detail::worker_state {
    std::uint64_t rng = 0;
    std::uint32_t tick = 0;  // run_one calls: the periodic I/O poll and timers-first turn
    // Coroutines posted to this worker alone (post_to). The first goes through `handoff`, one
    // word that the poster fills when it is empty and the inbox too, and that only this worker
    // empties (as Go's `runnext` and tokio's LIFO slot hand the next task over in one word):
    // a hand-off between two workers then moves this line and the coroutine's, nothing else.
    // The others wait in `inbox`, behind its lock; the owner takes `handoff` first, so the
    // order is the posting order, but for posts that race each other.
    alignas(64) std::atomic<void*> handoff{nullptr};
    std::atomic<std::size_t> inbox_size{0};  // written under inbox_mutex
    alignas(64) spinlock inbox_mutex;
    std::deque<std::coroutine_handle<>> inbox;
    // This worker's timers: the sleeps of the coroutines it ran, and posts from outside (worker
    // 0). The owner pushes and pops under an uncontended lock; an idle worker takes expired ones
    // from a busy worker's heap, as Go's Ps keep their own timer heaps and steal expired timers.
    // One heap behind one lock had both workers of wait n:100000 spin on it (fire_timers and
    // post_at were 42% of the profile) and made 2 workers 3x slower than 1.
    alignas(64) std::atomic<std::int64_t> next_deadline_ns{INT64_MAX};
    spinlock timer_mutex;
    std::vector<timer> timers;  // a min-heap on deadline_ns, guarded by timer_mutex
  };

  void work(worker& w, const std::atomic<bool>* until);
  bool run_one(worker& w);
  bool try_steal(worker& w);
  // The earliest of w's timers if it has expired by `now`, taken out of the heap; or nullptr.
  // Another worker (owner false) takes one only if the heap's lock is free.
  static std::coroutine_handle<> take_expired(worker& w, std::int64_t now, bool owner) noexcept;
  bool run_expired_timer(worker& w);
  bool steal_expired_timer(worker& w);
  // When `me` has a timer to fire: its own earliest deadline, or another worker's past the grace
  // with which it may take that one (timer_steal_grace_ns).
  std::int64_t earliest_deadline(const worker& me) const noexcept;
  void idle(worker& w, const std::atomic<bool>* until);
  bool work_visible(const worker& w) const noexcept;
  // Coroutines posted to w alone wait (post_to): one relaxed look at w's hand-off line.
  static bool has_posted(const worker& w) noexcept {
    return w.handoff.load(std::memory_order_relaxed) != nullptr ||
           w.inbox_size.load(std::memory_order_relaxed) != 0;
  }
  static std::coroutine_handle<> take_handoff(worker& w) noexcept;
  bool run_inbox(worker& w);
  void wake_one();
  void wake_if_sleeping();
  void wake_all();
  void run_root(std::coroutine_handle<> root_handle);
  bool poll_io();
  void park_on_io(std::int64_t wake_at_ns);
  bool inject_ready(const ::epoll_event* events, int n);
  // Appends woken coroutines to the injection queue; wakes another worker if several.
  void inject_batch(const std::coroutine_handle<>* first, const std::coroutine_handle<>* last);
  void kick_reactor() noexcept;

  std::vector<std::unique_ptr<worker>> workers_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> done_{false};

  // Tasks posted from outside, woken timers.
  spinlock inject_mutex_;
  std::deque<std::coroutine_handle<>> inject_;
  std::atomic<std::size_t> inject_size_{0};

  // The reactor: an epoll set whose events carry the waiting coroutine's address, and an eventfd
  // (event data nullptr) that wakes a worker blocked in epoll_wait.
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  alignas(64) std::atomic<std::int64_t> io_waiting_{0};  // coroutines parked on readiness
  std::atomic<bool> io_polling_{false};                  // a worker is inside epoll_wait

  // Parking. Idle workers first search (spin on steal attempts), then sleep on park_cv_, or in
  // epoll_wait when coroutines wait for I/O.
  std::mutex park_mutex_;
  std::condition_variable park_cv_;
  std::uint64_t wake_epoch_ = 0;  // guarded by park_mutex_
  int cv_sleepers_ = 0;           // guarded by park_mutex_
  bool io_parked_ = false;        // guarded: a worker blocks in epoll_wait and wake_fd_ wakes it
  alignas(64) std::atomic<int> sleepers_{0};
  alignas(64) std::atomic<int> searching_{0};
};

// The coroutine that run() resumes first: it awaits the user's task and then tells worker 0.
struct scheduler::root {
  struct promise_type {
    scheduler* owner = nullptr;
    root get_return_object() noexcept {
      return root{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    struct final_awaiter {
      bool await_ready() noexcept { return false; }
      CMBENCH_CORO_HANDS_OFF void await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        scheduler* s = h.promise().owner;
        s->done_.store(true, std::memory_order_release);
        s->wake_all();
      }
      void await_resume() noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
  std::coroutine_handle<promise_type> h;
};

template <class T>
T scheduler::run(task<T> t) {
  std::exception_ptr error;
  if constexpr (std::is_void_v<T>) {
    auto body = [](task<T> t, std::exception_ptr& error) -> root {
      try {
        co_await std::move(t);
      } catch (...) {
        error = std::current_exception();
      }
    };
    root r = body(std::move(t), error);
    r.h.promise().owner = this;
    run_root(r.h);
    r.h.destroy();
    if (error) std::rethrow_exception(error);
  } else {
    std::optional<T> result;
    auto body = [](task<T> t, std::optional<T>& out, std::exception_ptr& error) -> root {
      try {
        out.emplace(co_await std::move(t));
      } catch (...) {
        error = std::current_exception();
      }
    };
    root r = body(std::move(t), result, error);
    r.h.promise().owner = this;
    run_root(r.h);
    r.h.destroy();
    if (error) std::rethrow_exception(error);
    return std::move(*result);
  }
}

// co_await sleep_until(tp) / sleep_for(d): suspend the coroutine on its scheduler's timer queue.
struct sleep_awaiter {
  clock::time_point deadline;
  bool await_ready() const noexcept { return false; }
  CMBENCH_CORO_HANDS_OFF void await_suspend(std::coroutine_handle<> h) const {
    detail::this_worker->owner->post_at(deadline, h);
  }
  void await_resume() const noexcept {}
};
inline sleep_awaiter sleep_until(clock::time_point tp) noexcept {
  return {tp};
}
template <class Rep, class Period>
sleep_awaiter sleep_for(std::chrono::duration<Rep, Period> d) noexcept {
  return {clock::now() + std::chrono::duration_cast<clock::duration>(d)};
}

// co_await readable(fd) / writable(fd): suspend until a non-blocking descriptor is ready, on the
// scheduler's reactor. Resumes on whichever worker polls the event; then try the call again.
struct readiness_awaiter {
  int fd;
  std::uint32_t events;
  bool await_ready() const noexcept { return false; }
  CMBENCH_CORO_HANDS_OFF void await_suspend(std::coroutine_handle<> h) const {
    detail::this_worker->owner->post_when_ready(fd, events, h);
  }
  void await_resume() const noexcept {}
};
readiness_awaiter readable(int fd) noexcept;
readiness_awaiter writable(int fd) noexcept;

}  // namespace cmbench::coro
