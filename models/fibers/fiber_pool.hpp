// fiber_pool: Boost.Fiber worker threads owned by one object, built and torn down per run.
#pragma once

#include <boost/context/stack_context.hpp>
#include <boost/fiber/fiber.hpp>
#include <boost/fiber/policy.hpp>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace cmbench::fibers {

// 16 KiB. Measured high-water marks (stacks painted when handed out, scanned when given back) over
// every fiber of tests/fiber_pool_test.cpp: 6.4 KiB with g++ -O3, 8.5 KiB with clang -O0. Even an
// empty fiber touches ~6 KiB: Boost 1.74's spinlock_ttas::lock(), reached by every join and fiber
// exit, has a 5 KiB frame (room for the std::random_device seeding its thread_local backoff
// generator). So 8 KiB would overflow at -O0 and leave ~1.5 KiB at -O3, and these stacks have no
// guard page: an overflow silently corrupts the heap. 16 KiB leaves 7.5 KiB of headroom over the
// deepest test fiber (for scale: a std::mt19937 is 5 KiB). Pages are resident only once touched,
// so the unused part costs address space, not RSS.
inline constexpr std::size_t default_stack_bytes = 16 * 1024;

class fiber_pool;

namespace detail {
// The lowest bytes of every stack (stacks grow down) are painted with a pattern and checked when
// the stack is given back: a fiber that came within this distance of the end of its stack is
// counted in stack_overflows(). The stacks have no guard page (16 KiB blocks from malloc: a
// million fibers would need two million mappings), so without this check an overflow would
// corrupt the heap silently.
inline constexpr std::size_t stack_guard_bytes = 256;
inline constexpr unsigned char stack_guard_pattern = 0xA5;
struct pool_state;

// Stack allocator of a pool's fibers: malloc'd blocks of the pool's stack size, recycled through
// per-worker caches and the pool's spare list until the pool is destroyed. Thread-safe: a stack
// may be allocated on one worker and freed on another.
class stack_allocator {
 public:
  explicit stack_allocator(fiber_pool& pool) noexcept : pool_(&pool) {}
  boost::context::stack_context allocate();
  void deallocate(boost::context::stack_context& sctx) noexcept;

 private:
  fiber_pool* pool_;
};
}  // namespace detail

template <class F>
boost::fibers::fiber spawn(F&& fn, boost::fibers::launch policy = boost::fibers::launch::post);

// Workers are OS threads, each running Boost.Fiber with this pool's scheduling algorithm: a
// deque per worker that its owner uses LIFO and other workers steal from FIFO (see fiber_pool.cpp
// for why). Fibers migrate between workers whenever they are ready, unless placed with stay_on();
// idle workers sleep.
//
// Not re-entrant: run() may not be called from a pool worker thread (it throws). Fibers should not
// throw (an exception escaping a fiber calls std::terminate); run() forwards fn's exception.
// Fibers still running (e.g. detached) when the pool is destroyed are waited for, so a fiber that
// blocks forever makes the destructor hang, like a thread that is never joined.
class fiber_pool {
 public:
  // Starts `workers` (>= 1) threads; throws std::invalid_argument for 0 workers or a stack below
  // 4 KiB.
  explicit fiber_pool(unsigned workers, std::size_t stack_bytes = default_stack_bytes);
  ~fiber_pool();  // precondition: no run() in progress
  fiber_pool(const fiber_pool&) = delete;
  fiber_pool& operator=(const fiber_pool&) = delete;

  // Runs fn() as a fiber in the pool and blocks the calling (non-pool) thread until it returns;
  // returns its result or rethrows its exception. Safe to call from several threads at once.
  template <class F>
  std::invoke_result_t<F&> run(F fn) {
    using R = std::invoke_result_t<F&>;
    static_assert(!std::is_rvalue_reference_v<R>, "run() cannot return an rvalue reference");
    // The promise is owned by the task (i.e. by the fiber), not by this frame: set_value() may
    // still be touching it when get() below returns and this frame unwinds.
    auto done = std::make_shared<std::promise<R>>();
    std::future<R> result = done->get_future();
    submit([done, &fn] {
      try {
        if constexpr (std::is_void_v<R>) {
          fn();
          done->set_value();
        } else {
          done->set_value(fn());
        }
      } catch (...) {
        done->set_exception(std::current_exception());
      }
    });
    return result.get();
  }

  unsigned workers() const noexcept { return workers_; }
  // Stacks given back with their guard bytes overwritten, since the pool was built.
  std::uint64_t stack_overflows() const noexcept;
  // Stacks taken from malloc since the pool was built (the others were reused).
  std::uint64_t stacks_allocated() const noexcept;
  std::size_t stack_bytes() const noexcept { return stack_bytes_; }

 private:
  template <class F>
  friend boost::fibers::fiber spawn(F&& fn, boost::fibers::launch policy);
  friend class detail::stack_allocator;
  friend void wait_ready(int fd, std::uint32_t events);

  void submit(std::function<void()> task);
  void worker_main(unsigned index);
  void shutdown() noexcept;
  // Live-fiber accounting, so the destructor can wait for fibers nobody joined.
  void fiber_started() noexcept;
  void fiber_finished() noexcept;
  void* take_stack();
  void give_back_stack(void* stack) noexcept;
  static bool guard_intact(const void* stack) noexcept;

  unsigned workers_;
  std::size_t stack_bytes_;
  std::unique_ptr<detail::pool_state> state_;
  std::vector<std::thread> threads_;
};

namespace detail {
// The pool of the calling worker thread; throws std::logic_error outside a pool.
fiber_pool& current_pool();
}  // namespace detail

// Inside a pool fiber: launches fn as a new fiber with the pool's stack size; launch::post: the
// caller keeps running; launch::dispatch: the child runs at once and the caller waits, ready to be
// stolen (child first, as a fork of the coroutine model does). The caller must join() or detach()
// the result. Throws std::logic_error when not called on a pool worker.
template <class F>
boost::fibers::fiber spawn(F&& fn, boost::fibers::launch policy) {
  fiber_pool& pool = detail::current_pool();
  pool.fiber_started();
  try {
    return boost::fibers::fiber(policy, std::allocator_arg, detail::stack_allocator(pool),
                                [&pool, fn = std::forward<F>(fn)]() mutable {
                                  fn();
                                  pool.fiber_finished();
                                });
  } catch (...) {
    pool.fiber_finished();
    throw;
  }
}

// Index of the calling pool worker thread in [0, workers), or -1 outside a pool.
int current_worker() noexcept;

// Inside a pool fiber: moves the calling fiber to worker `w` (0 <= w < workers(), else throws
// std::invalid_argument) and keeps it there: from then on it is never stolen, and whenever it is
// made ready it runs on worker w. Returns on worker w. May be called again to move the fiber to
// another worker. Throws std::logic_error when not called on a pool worker.
void stay_on(unsigned w);

// Inside a pool fiber: parks the calling fiber until the non-blocking descriptor fd has any of
// `events` (EPOLLIN, EPOLLOUT), an error or a hang-up. The pool's own epoll set, polled by its
// workers (fiber_pool.cpp, "Readiness"); the fiber is made ready in a FIFO queue, in the order its
// event was polled. One-shot: one waiter per descriptor at a time. Throws std::system_error if
// the descriptor cannot be watched, std::logic_error when not called on a pool worker.
void wait_ready(int fd, std::uint32_t events);

}  // namespace cmbench::fibers
