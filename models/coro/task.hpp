// task<T>: a lazy coroutine, awaited directly (co_await t) or forked onto the scheduler
// (fork/join).
#pragma once

#include <atomic>
#include <cassert>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "models/coro/frame_allocator.hpp"
#include "models/coro/work_deque.hpp"

// Clang before 19 may write to the awaiting coroutine's frame after await_suspend has run: it may
// spill the handle an await_suspend returns there (llvm/llvm-project#65018, #65054, #72006), and
// an await_suspend inlined into the coroutine may have its values spilled there after the calls
// it makes (seen here: clang 14 stored a value ring's unit reloads after resuming, right after
// scheduler::post_to returned). Clang 19 keeps await_suspend out of line until the coroutine is
// split (#79712). An awaiter that hands its coroutine to another thread races with that thread,
// which may already have resumed or destroyed the frame, so on those compilers such an
// await_suspend is kept out of line and returns void or bool (CMBENCH_CORO_HANDS_OFF), which
// leaves nothing to write after the call. ASan reported the race in ring_test (a write to a frame
// freed by the finisher); these builds are the debug and sanitize presets, not what is measured.
#if defined(__clang__) && __clang_major__ < 19
#define CMBENCH_CORO_AWAIT_WRITES_FRAME 1
#define CMBENCH_CORO_HANDS_OFF [[gnu::noinline]]
#else
#define CMBENCH_CORO_AWAIT_WRITES_FRAME 0
#define CMBENCH_CORO_HANDS_OFF
#endif

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
inline constexpr std::int32_t join_bias = std::int32_t{1} << 30;

// Where an awaited task reports: the awaiter, which lives in the caller's frame while the task
// runs. Keeping the caller, the exception and the result there rather than in the task's promise
// means that a forked task, which has none of them, does not carry their room (see promise_base).
struct await_link {
  std::coroutine_handle<> caller;
  std::exception_ptr error;
};
template <class T>
struct value_link : await_link {
  std::optional<T> value;
};
template <>
struct value_link<void> : await_link {};

// The part of every task's promise that the scheduler sees: 16 bytes. A frame is what a parked
// or waiting task costs, so the promise holds only what both ways of starting a task need:
// - `up`: for a forked task its parent's promise, tagged with the low bit; for an awaited one the
//   awaiter (await_link) in the caller's frame;
// - the steal and join counters, 32 bits each (a join waits for fewer than 2^30 stolen children);
// - no handle to itself: self() computes it from the promise's address, which the compilers place
//   at a fixed offset in the frame for a given alignment (every task promise has this one, checked
//   by a static_assert and, in debug builds, against from_promise of the full type).
struct promise_base {
#if !CMBENCH_ADDRESS_SANITIZER  // recycled frames would hide a use-after-free from ASan
  static void* operator new(std::size_t size) { return this_thread_frames.allocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept {
    this_thread_frames.deallocate(p, size);
  }
#endif

  std::coroutine_handle<> self() noexcept {
    return std::coroutine_handle<promise_base>::from_promise(*this);
  }
  bool forked() const noexcept { return (up & 1) != 0; }
  promise_base* parent() const noexcept {
    return reinterpret_cast<promise_base*>(up & ~std::uintptr_t{1});
  }
  await_link* link() const noexcept { return reinterpret_cast<await_link*>(up); }
  void set_parent(promise_base* p) noexcept { up = reinterpret_cast<std::uintptr_t>(p) | 1; }
  void set_link(await_link* l) noexcept { up = reinterpret_cast<std::uintptr_t>(l); }

  std::uintptr_t up = 0;
  std::int32_t steals = 0;  // touched only by the thread that runs this coroutine
  std::atomic<std::int32_t> joins{join_bias};
};
static_assert(sizeof(promise_base) == 16);

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
    if (top == parent) return top->self();
    w->deque.push(top);
  }
  if (parent->joins.fetch_sub(1, std::memory_order_acq_rel) == 1) return parent->self();
  return std::noop_coroutine();
}

// The result: a forked task writes it to the parent's variable (`out`), an awaited one to the
// awaiter. A task<void> has neither.
template <class T>
struct result_slot : promise_base {
  T* out = nullptr;
  // By value: a small result stays in registers. Forwarding a reference to the coroutine's local
  // made g++ store it in halves and reload it whole, a failed store forwarding that cost fib(30)
  // at cutoff 2 on one worker 29% (perf annotate: the stall at the copy to the parent).
  void return_value(T v) {
    if (forked())
      *out = std::move(v);
    else
      static_cast<value_link<T>*>(link())->value.emplace(std::move(v));
  }
};

template <>
struct result_slot<void> : promise_base {
  void return_void() noexcept {}
};

}  // namespace detail

template <class T = void>
class [[nodiscard]] task {
 public:
  struct promise_type : detail::result_slot<T> {
    task get_return_object() noexcept {
      auto h = std::coroutine_handle<promise_type>::from_promise(*this);
      static_assert(alignof(promise_type) == alignof(detail::promise_base),
                    "promise_base::self() needs the promise at the same offset in every frame");
      assert(h.address() == this->self().address());
      return task{h};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }

    struct final_awaiter {
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        promise_type& p = h.promise();
        if (p.forked()) {  // the frame is ours to free
          detail::promise_base* parent = p.parent();
          h.destroy();
          return detail::finish_forked(parent);
        }
        return p.link()->caller;
      }
      void await_resume() noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }

    void unhandled_exception() noexcept {
      // A forked child has nobody to hand an exception to: fork-join bodies must not throw.
      if (this->forked()) std::terminate();
      this->link()->error = std::current_exception();
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

  // co_await t: run t now on this thread; resume the awaiter when it finishes. The awaiter is
  // where t reports (detail::await_link): it lives in the caller's frame until then.
  auto operator co_await() && noexcept {
    struct awaiter : detail::value_link<T> {
      explicit awaiter(std::coroutine_handle<promise_type> h) noexcept : h(h) {}
      std::coroutine_handle<promise_type> h;
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept {
        this->caller = caller;
        h.promise().set_link(this);
        return h;
      }
      T await_resume() {
        if (this->error) std::rethrow_exception(std::move(this->error));
        if constexpr (!std::is_void_v<T>) return std::move(*this->value);
      }
    };
    assert(h_);
    return awaiter{h_};
  }

  // The frame, no longer owned by this task. Only fork() starts a task this way.
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
    c.promise().set_parent(&pp);
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
    const std::int32_t pending = join_bias - p->steals;
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
