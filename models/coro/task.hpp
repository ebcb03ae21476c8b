// task<T>: a lazy coroutine, awaited directly (co_await t) or forked onto the scheduler
// (fork/join).
#pragma once

#include <atomic>
#include <cassert>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <optional>
#include <utility>

#include "models/coro/frame_allocator.hpp"
#include "models/coro/work_deque.hpp"

namespace cmbench::coro {

class scheduler;

namespace detail {

struct promise_base;

// The per-thread state of a scheduler worker that fork/join needs on its hot path.
struct worker_state {
  work_deque<promise_base*> deque;
  scheduler* owner = nullptr;
  unsigned index = 0;
  const std::atomic<int>* sleepers = nullptr;   // workers parked on the owner
  const std::atomic<int>* searching = nullptr;  // idle workers still looking for work
};

void wake_one(scheduler* s);  // scheduler.cpp

// After a push: let an idle worker come and steal. Two relaxed loads when nobody sleeps. The
// loads may miss a worker that is just going to sleep; parked workers re-check on a short timeout,
// so a miss costs parallelism for that long, never progress.
inline void notify_push(worker_state* w) noexcept {
  if (w->sleepers->load(std::memory_order_relaxed) != 0 &&
      w->searching->load(std::memory_order_relaxed) == 0)
    wake_one(w->owner);
}

// Set while a thread runs a scheduler's worker loop.
extern constinit thread_local worker_state* this_worker;

// Fork-join follows the work-first discipline with continuation stealing (as in Cilk and
// libfork): fork() pushes the *parent's* continuation on the worker's deque and runs the child at
// once. If nobody took the continuation, the child pops it back when it finishes and resumes the
// parent directly, so an unstolen fork costs a push, a pop and two symmetric transfers and no
// atomic read-modify-write. A continuation taken by another worker (or by this worker's loop while
// the child was suspended) is a "steal": the parent counts it, and at join() waits for exactly
// that many children to finish on their own. Children that found their parent gone report to
// `joins`, which starts at a large bias so that it can only reach zero after the parent's join
// has subtracted the bias.
inline constexpr std::int64_t join_bias = std::int64_t{1} << 40;

struct promise_base {
#if !CMBENCH_ADDRESS_SANITIZER  // recycled frames would hide a use-after-free from ASan
  static void* operator new(std::size_t size) { return this_thread_frames.allocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept {
    this_thread_frames.deallocate(p, size);
  }
#endif

  std::coroutine_handle<> self;
  std::coroutine_handle<> continuation;  // awaited (called) task: who to resume at the end
  promise_base* parent = nullptr;        // forked task: the parent whose join waits for it
  std::int64_t steals = 0;               // touched only by the thread that runs this coroutine
  std::atomic<std::int64_t> joins{join_bias};
};

// Called when a worker takes a continuation out of a deque instead of the child that pushed it.
inline void on_continuation_taken(promise_base* p) {
  ++p->steals;
}

// A forked child is done: resume the parent if its continuation is still ours, or if the parent
// already waits in join() and this is the last child it waits for.
//
// Accounting: every fork pushes one continuation of the parent. Either a child of that parent pops
// it back (no steal, no report) or someone else takes it (a steal, and exactly one child reports
// to `joins`). Which child pops which of its parent's continuations does not matter, so a child
// may take any continuation of its own parent. A continuation of some other coroutine on top (a
// woken task finishing above unrelated work) goes back on the deque for the worker loop.
inline std::coroutine_handle<> finish_forked(promise_base* parent) noexcept {
  worker_state* w = this_worker;
  if (promise_base* top = w->deque.pop()) {
    if (top == parent) return top->self;
    w->deque.push(top);
  }
  if (parent->joins.fetch_sub(1, std::memory_order_acq_rel) == 1) return parent->self;
  return std::noop_coroutine();
}

template <class T>
struct result_slot {
  std::optional<T> value;
  T* out = nullptr;  // forked: the parent's variable that receives the result
  void return_value(T v) {
    if (out)
      *out = std::move(v);
    else
      value.emplace(std::move(v));
  }
  T take() { return std::move(*value); }
};

template <>
struct result_slot<void> {
  void* out = nullptr;
  void return_void() {}
  void take() {}
};

}  // namespace detail

template <class T = void>
class [[nodiscard]] task {
 public:
  struct promise_type : detail::promise_base, detail::result_slot<T> {
    std::exception_ptr error;

    task get_return_object() noexcept {
      auto h = std::coroutine_handle<promise_type>::from_promise(*this);
      self = h;
      return task{h};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }

    struct final_awaiter {
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        promise_type& p = h.promise();
        if (p.parent) {  // forked: the frame is ours to free
          detail::promise_base* parent = p.parent;
          h.destroy();
          return detail::finish_forked(parent);
        }
        return p.continuation ? p.continuation : std::noop_coroutine();
      }
      void await_resume() noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }

    void unhandled_exception() noexcept {
      // A forked child has nobody to hand an exception to: fork-join bodies must not throw.
      if (parent) std::terminate();
      error = std::current_exception();
    }
  };

  task() = default;
  task(task&& other) noexcept : h_(std::exchange(other.h_, {})) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      if (h_) h_.destroy();
      h_ = std::exchange(other.h_, {});
    }
    return *this;
  }
  ~task() {
    if (h_) h_.destroy();
  }

  // co_await t: run t now on this thread; resume the awaiter when it finishes.
  auto operator co_await() && noexcept {
    struct awaiter {
      std::coroutine_handle<promise_type> h;
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept {
        h.promise().continuation = caller;
        return h;
      }
      T await_resume() {
        if (h.promise().error) std::rethrow_exception(h.promise().error);
        return h.promise().take();
      }
    };
    assert(h_);
    return awaiter{h_};
  }

  std::coroutine_handle<promise_type> release() noexcept { return std::exchange(h_, {}); }

 private:
  explicit task(std::coroutine_handle<promise_type> h) : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

namespace detail {

template <class T>
struct fork_awaiter {
  std::coroutine_handle<typename task<T>::promise_type> child;

  bool await_ready() noexcept { return false; }
  template <class ParentPromise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<ParentPromise> parent) noexcept {
    assert(this_worker && "fork() runs only on a scheduler worker");
    // Copy the child out first: once the parent is on the deque a thief may resume it, and this
    // awaiter lives in the parent's frame.
    auto c = child;
    promise_base& pp = parent.promise();
    c.promise().parent = &pp;
    worker_state* w = this_worker;
    w->deque.push(&pp);
    notify_push(w);
    return c;
  }
  void await_resume() noexcept {}
};

struct join_awaiter {
  promise_base* p = nullptr;

  bool await_ready() noexcept { return false; }
  template <class ParentPromise>
  bool await_suspend(std::coroutine_handle<ParentPromise> h) noexcept {
    p = &h.promise();
    if (p->steals == 0) return false;  // every child came back through the fast path
    const std::int64_t pending = join_bias - p->steals;
    // Zero now means every stolen child already finished; otherwise the last one resumes us.
    return p->joins.fetch_sub(pending, std::memory_order_acq_rel) != pending;
  }
  void await_resume() noexcept {
    // All children are done, so nobody else touches these fields any more.
    p->steals = 0;
    p->joins.store(join_bias, std::memory_order_relaxed);
  }
};

}  // namespace detail

// co_await fork(out, child()): start child as a new unit of work; `out` receives its result by
// the matching co_await join(). The awaiting coroutine's continuation may move to another worker.
template <class T>
detail::fork_awaiter<T> fork(T& out, task<T>&& child) {
  auto h = child.release();
  h.promise().out = &out;
  return {h};
}

inline detail::fork_awaiter<void> fork(task<void>&& child) {
  return {child.release()};
}

// co_await join(): wait for every child this coroutine forked since its last join.
inline detail::join_awaiter join() noexcept {
  return {};
}

}  // namespace cmbench::coro
