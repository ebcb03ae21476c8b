#include "models/fibers/fiber_pool.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/fiber/algo/algorithm.hpp>
#include <boost/fiber/buffered_channel.hpp>
#include <boost/fiber/condition_variable.hpp>
#include <boost/fiber/context.hpp>
#include <boost/fiber/operations.hpp>
#include <boost/fiber/properties.hpp>
#include <boost/fiber/scheduler.hpp>
#include <boost/fiber/type.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <sanitizer/asan_interface.h>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace cmbench::fibers {

// Design
// ------
// Queues. Each worker owns a deque of ready fibers (an intrusive list through the context's ready
// hook, behind a mutex). Its owner pushes and pops at the back (LIFO); the other workers steal from
// the front (FIFO), like TBB and Cilk. A shared FIFO queue (or Boost's FIFO work_stealing) runs a
// fork/join tree breadth-first, since launch::post lets every node post all its children before
// any of them runs. LIFO runs it depth-first. Measured, skynet 10^5 leaves on 2 workers: LIFO peaks
// at 11 fibers inside their body and ~130 stacks allocated; the same pool popping FIFO at 3938 and
// ~39000 (tests/fiber_pool_test.cpp, SkynetMemoryStaysBounded). A shared LIFO stack would keep
// the order but put every push and pop of every worker on one lock, and hand idle workers the
// newest, smallest pieces of work instead of the oldest, biggest ones.
// The price of LIFO is fairness: on one worker, fibers that spin on this_fiber::yield() waiting for
// an older ready fiber can starve it. Wait with the fiber primitives instead.
//
// Pinned contexts. A worker's main and dispatcher contexts must never leave their thread, so they
// wait in a private FIFO list. pick_next takes from it first when it has no other work (the
// dispatcher then steals in its own pick_next, after collecting remote wake-ups and timers) and
// otherwise after every `pinned_period` fibers. The dispatcher is the only place where finished
// fibers are freed, sleeping fibers are woken, and fibers woken from other threads are made
// ready. Measured with the dispatcher visited only when the deque is empty: skynet 10^6 leaves on
// one worker took 6.7 s and 10 GB RSS (every dead fiber kept until the end), instead of 0.4 s and
// 4 MB.
//
// Sleeping. An idle dispatcher calls suspend_until(earliest own timer), which waits on the
// worker's condition variable until that deadline or until woken. Two kinds of wake-up:
//  - notify(), from Boost when a fiber attached to this worker is made ready by another thread;
//  - new stealable work: awakened() pushes to the deque, then wakes one sleeping worker, if any.
// Lost wake-ups are excluded Dekker-style: the sleeper announces itself (sleeping flag, sleepers
// count), fences, then looks at every deque; the pusher publishes the deque size, fences, then
// looks at the sleepers count. A `wake` flag under the worker's mutex covers wake-ups that arrive
// between the dispatcher's last look at its queues and the wait. (See suspend_until for a Boost
// 1.74 spinlock trap when workers share a core.)
//
// Readiness. The pool has an epoll set of its own (wait_ready): a fiber arms a one-shot wait for
// its descriptor and parks on a fiber condition variable; the workers poll the set themselves,
// as the coroutine scheduler's do, so the worker that polls an event makes the fiber ready with
// no thread in between. An idle worker polls it while it spins and then, if it is the one holding
// the set, sleeps in epoll_wait instead of on its condition variable (an eventfd wakes it); a busy
// worker polls it whenever its dispatcher runs (at least every pinned_period fibers). Events are
// only handled where no spinlock of Boost's is held: in suspend_until, and in pick_next when the
// dispatcher itself asks (a fiber that suspends calls pick_next holding the spinlock of what it
// waits on, which may be the very condition variable the event is for).
// A fiber woken by readiness goes to its worker's `io_ready` list, FIFO, not to the LIFO deque:
// tokio keeps the same split (a FIFO run queue beside its LIFO slot). With the deque, a worker
// that polls every 16 fibers keeps pushing the newest wake-ups on top of older ones, and under a
// steady load the oldest never come up: the fault cell's quiet-connection timeouts hit live
// connections (the first version of this reactor was reverted for it). The owner takes from its
// deque first (fork/join stays depth-first) and from io_ready first once every io_period picks,
// so neither list starves the other; thieves take the oldest of either.
//
// Marks. A fiber the pool must treat apart carries `marks` (a fiber_properties): its home worker
// (stay_on) and whether readiness is waking it. Other fibers have none, so they pay one null test
// per awakened().
//
// Placed fibers. stay_on(w) sets the calling fiber's home worker w. A placed
// fiber made ready on its home worker is not detached: it waits in the home worker's private FIFO
// list `placed_`, which pick_next serves before the deque and which no thief sees. Staying
// attached means Boost routes every wake-up from another worker (remote-ready queue, notify())
// and every timer of the fiber to the home worker. A placed fiber made ready elsewhere (only
// stay_on's yield, from the worker it is leaving) is detached and pushed on the home worker's
// `incoming` list (mutex, plus a size readable without it), and the home worker is woken if it
// sleeps: the same Dekker pairing as for deques, with the home worker's own incoming size among
// what a sleeper looks at. Placed fibers go first, so on one worker a placed fiber that keeps
// becoming ready (a ping-pong) delays the unplaced fibers of that worker's deque until a thief
// takes them; and like any attached fiber, a placed one waits while its worker runs a long fiber.
//
// Entry and exit. run() pushes its task into a fibers::buffered_channel on which every worker's
// main context waits; the one that gets it spawns it as a pool fiber. The destructor closes the
// channel, the main contexts wait for unjoined fibers to finish and return, and Boost tears each
// thread's scheduler down at thread exit, before join() returns.
//
// Caveat inherited from Boost.Fiber: timers and remote wake-ups of fibers attached to a worker are
// only processed by that worker's dispatcher, so a worker stuck in a long-running fiber delays
// them even if another worker is idle.

namespace detail {

using boost::fibers::context;
using ready_list = boost::fibers::scheduler::ready_queue_type;

// Fibers run between two visits of the pinned list while the deque stays non-empty: this bounds
// the finished-but-unfreed fibers per worker, and the delay of timers and remote wake-ups to 16
// fiber runs. Skynet 10^6 leaves, median of 9 runs, 1 / 2 workers: period 1 (dispatcher between
// every two fibers) 528 / 368 ms, 4: 443 / 322, 16: 396 / 287, 64: 430 / 271 (noise ~10%).
constexpr unsigned pinned_period = 16;

// Freed stacks kept per worker for reuse. With plain malloc/free (fixedsize_stack) a fork/join
// tree keeps freeing and reallocating its frontier; the freed top of the thread's malloc heap
// passes glibc's 128 KiB trim threshold, glibc returns the pages (madvise DONTNEED), and the next
// allocations fault them in again: page faults and TLB shootdowns were the top of the profile.
// Skynet 10^6 leaves, median of 7, 1 / 2 workers: no cache 2234 / 1109 ms, 8: 663 / 315,
// 64: 578 / 257, 256: 557 / 248.
// Every freed stack is kept until the pool is destroyed, as Boost's pooled_fixedsize_stack keeps
// its pool's: a pool that once ran N fibers at a time runs N again without a page fault. With
// the 64 a worker keeps for itself and the rest freed, each run of a million parked fibers (idle)
// faulted its stacks in afresh, about 2.4 pages a fiber, and a fault costs ~20 us on a
// paravirtualised VM: minutes a cell. Beyond its 64, a worker moves half of its stacks to the
// pool's spare list, and a worker with none takes a batch from there, a lock per 32 stacks, so
// stacks freed on one worker serve the next fibers of another (an acceptor's connections, say)
// and the pool holds about as many stacks as it once ran at a time (a worker with none left
// mallocs while up to 64 may wait in each other worker's cache). Cached stacks hold only the
// pages their fibers touched.
constexpr std::size_t stack_cache_capacity = 64;
constexpr std::size_t stack_batch = stack_cache_capacity / 2;

// Rounds of the spinning phase before an idle worker sleeps: 32 pauses and a look each, a yield
// every 16 rounds.
constexpr unsigned spin_rounds = 256;

inline void pause_cpu() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// Picks between two visits of io_ready first (see Readiness).
constexpr unsigned io_period = 16;

constexpr int io_events_per_poll = 64;

// What the pool knows of a fiber beyond Boost's context (see Marks). Owned by the fiber's
// context: Boost 1.74 deletes it in ~context() and in set_properties() when replaced. Written
// only by the fiber itself, while it runs; read (and io_woken cleared) by awakened(), which runs
// after the fiber has switched away.
struct marks final : boost::fibers::fiber_properties {
  static constexpr unsigned no_home = ~0u;
  explicit marks(boost::fibers::context* ctx) noexcept : fiber_properties(ctx) {}
  unsigned home = no_home;  // set by stay_on()
  bool io_woken = false;    // set by wait_ready() before it parks
};

// The calling fiber's marks, made on first use.
marks& marks_of_active() {
  boost::fibers::context* self = boost::fibers::context::active();
  if (auto* m = static_cast<marks*>(self->get_properties())) return *m;
  auto* m = new marks(self);
  self->set_properties(m);  // the context owns it
  return *m;
}

// A fiber parked on readiness; on its stack. fire() runs on a worker, in a dispatcher context.
struct io_waiter {
  std::mutex m;
  boost::fibers::condition_variable_any cv;
  bool fired = false;
  // Notifies under the mutex: the woken fiber cannot return (and destroy this) before it is done.
  void fire() noexcept {
    std::lock_guard lk(m);
    fired = true;
    cv.notify_one();
  }
};

struct alignas(64) worker_slot {
  std::mutex deque_mutex;
  ready_list deque;                        // guarded by deque_mutex
  std::atomic<std::size_t> deque_size{0};  // written under deque_mutex; read without it
  ready_list io_ready;                     // woken by readiness, FIFO; guarded by deque_mutex
  std::atomic<std::size_t> io_size{0};     // written under deque_mutex; read without it
  std::atomic<bool> sleeping{false};       // set by the worker, cleared by whoever wakes it
  std::mutex sleep_mutex;
  std::condition_variable sleep_cv;
  std::atomic<bool> wake{false};  // set under sleep_mutex; also read by the spinning phase
  std::atomic<bool> in_epoll{false};  // the worker sleeps in epoll_wait: wake() kicks the eventfd
  // Placed fibers sent home by other workers, detached; the owner attaches them.
  alignas(64) std::mutex incoming_mutex;
  ready_list incoming;                        // guarded by incoming_mutex
  std::atomic<std::size_t> incoming_size{0};  // written under incoming_mutex; read without it
  // Single writer each (the worker itself), so no contended cache line per fiber.
  alignas(64) std::atomic<std::uint64_t> started{0};
  std::atomic<std::uint64_t> finished{0};
  std::vector<void*> stack_cache;  // owner only; at most stack_cache_capacity
};

struct pool_state {
  explicit pool_state(unsigned n) : count(n), slots(new worker_slot[n]) {
    for (unsigned i = 0; i < n; ++i) slots[i].stack_cache.reserve(stack_cache_capacity);
    epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;  // level-triggered: a kick stays pending until a poll drains it
    ev.data.ptr = nullptr;
    if (epoll_fd < 0 || wake_fd < 0 || ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &ev) != 0) {
      const int e = errno;
      close_reactor();
      throw std::system_error(e, std::generic_category(), "fiber_pool: epoll reactor");
    }
  }
  ~pool_state() {
    close_reactor();
    for (unsigned i = 0; i < count; ++i)
      for (void* stack : slots[i].stack_cache) std::free(stack);
    for (void* stack : spare_stacks) std::free(stack);
  }
  void close_reactor() noexcept {
    if (wake_fd >= 0) ::close(wake_fd);
    if (epoll_fd >= 0) ::close(epoll_fd);
  }

  const unsigned count;
  const std::unique_ptr<worker_slot[]> slots;
  alignas(64) std::atomic<unsigned> sleepers{0};
  std::atomic<std::uint64_t> stack_overflows{0};
  std::atomic<std::uint64_t> stacks_allocated{0};
  // Stacks the workers' caches overflowed into (see stack_cache_capacity).
  std::mutex spare_mutex;
  std::vector<void*> spare_stacks;          // guarded by spare_mutex
  std::atomic<std::size_t> spare_count{0};  // written under spare_mutex; read without it
  // Tasks from run(); every worker's main context waits on it. A fiber channel because the
  // waiter must block as a fiber (its dispatcher keeps running) while the pusher is a plain thread.
  boost::fibers::buffered_channel<std::function<void()>> inbox{64};

  // The reactor: events carry the io_waiter's address, or nullptr for the wake-up eventfd.
  int epoll_fd = -1;
  int wake_fd = -1;
  alignas(64) std::atomic<std::int64_t> io_waiting{0};  // fibers parked on readiness
  std::atomic<bool> io_polling{false};                  // a worker is inside epoll_wait

  // Waits for events up to timeout_ns (0: a look; -1: until one comes or a kick), unless another
  // worker is polling; fires the waiters. Call only where firing is safe (see Readiness).
  // Returns whether any fiber was made ready.
  bool poll_io(std::int64_t timeout_ns, worker_slot* sleeper) noexcept {
    if (io_waiting.load(std::memory_order_relaxed) == 0) return false;
    if (io_polling.exchange(true, std::memory_order_acquire)) return false;
    epoll_event events[io_events_per_poll];
    int n = 0;
    // A sleeper announces itself before its last look at its wake flag, and wake() stores the
    // flag before it looks at in_epoll: one of the two sees the other.
    if (sleeper) sleeper->in_epoll.store(true, std::memory_order_seq_cst);
    if (!sleeper || !sleeper->wake.load(std::memory_order_seq_cst)) {
      timespec t{};
      if (timeout_ns > 0) {
        t.tv_sec = timeout_ns / 1'000'000'000;
        t.tv_nsec = timeout_ns % 1'000'000'000;
      }
      n = ::epoll_pwait2(epoll_fd, events, io_events_per_poll, timeout_ns < 0 ? nullptr : &t,
                         nullptr);
      if (n < 0) {
        if (errno != EINTR) std::terminate();  // parked fibers could never be woken
        n = 0;
      }
    }
    if (sleeper) sleeper->in_epoll.store(false, std::memory_order_relaxed);
    io_polling.store(false, std::memory_order_release);
    bool fired = false;
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        std::uint64_t kicks;
        [[maybe_unused]] const ssize_t r = ::read(wake_fd, &kicks, sizeof kicks);
        continue;
      }
      io_waiting.fetch_sub(1, std::memory_order_relaxed);
      static_cast<io_waiter*>(events[i].data.ptr)->fire();
      fired = true;
    }
    return fired;
  }

  void kick_reactor() noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t r = ::write(wake_fd, &one, sizeof one);
  }

  // Work worker `self` could take: any deque or readiness list, or placed fibers sent to `self`.
  bool any_ready(unsigned self) const noexcept {
    if (slots[self].incoming_size.load(std::memory_order_relaxed) != 0) return true;
    for (unsigned i = 0; i < count; ++i)
      if (slots[i].deque_size.load(std::memory_order_relaxed) != 0 ||
          slots[i].io_size.load(std::memory_order_relaxed) != 0)
        return true;
    return false;
  }

  void wake(unsigned i) noexcept {
    {
      std::lock_guard lk(slots[i].sleep_mutex);
      slots[i].wake = true;
    }
    slots[i].sleep_cv.notify_one();
    if (slots[i].in_epoll.load(std::memory_order_seq_cst)) kick_reactor();
  }

  // Claims the sleeping flag so that only one waker pays for the notification.
  bool claim_sleeper(unsigned i) noexcept {
    if (!slots[i].sleeping.exchange(false)) return false;
    sleepers.fetch_sub(1, std::memory_order_relaxed);
    return true;
  }

  // Called after publishing a placed fiber in worker `home`'s incoming list.
  void wake_home(unsigned home) noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (slots[home].sleeping.load(std::memory_order_relaxed) && claim_sleeper(home)) wake(home);
  }

  // Called after publishing new work in worker `self`'s deque.
  void wake_one_sleeper(unsigned self) noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (sleepers.load(std::memory_order_relaxed) == 0) return;
    for (unsigned k = 1; k < count; ++k) {
      const unsigned i = (self + k) % count;
      if (slots[i].sleeping.load(std::memory_order_relaxed) && claim_sleeper(i)) {
        wake(i);
        return;
      }
    }
  }

  // Exact once no fiber can start any more: finished is summed before started, each counter only
  // grows, and a fiber counts as started before it exists and as finished after its body.
  std::uint64_t live_fibers() const noexcept {
    std::uint64_t finished = 0;
    std::uint64_t started = 0;
    for (unsigned i = 0; i < count; ++i) finished += slots[i].finished.load();
    for (unsigned i = 0; i < count; ++i) started += slots[i].started.load();
    return started - finished;
  }
};

// All calls except notify() come from the owning worker thread (Boost hands contexts readied
// by other threads to the owner through its remote-ready queue, then calls notify()).
class pool_algorithm final : public boost::fibers::algo::algorithm {
 public:
  pool_algorithm(pool_state& pool, unsigned index) noexcept
      : pool_(pool), index_(index), me_(pool.slots[index]) {}

  void awakened(context* ctx) noexcept override {
    if (ctx->is_context(boost::fibers::type::pinned_context)) {
      ctx->ready_link(pinned_);
      return;
    }
    bool io_woken = false;
    if (auto* m = static_cast<marks*>(ctx->get_properties())) [[unlikely]] {
      io_woken = std::exchange(m->io_woken, false);
      if (m->home != marks::no_home) {
        send_home(ctx, m->home);
        return;
      }
    }
    ctx->detach();  // free to be attached to whichever worker picks it
    {
      std::lock_guard lk(me_.deque_mutex);
      ready_list& list = io_woken ? me_.io_ready : me_.deque;
      std::atomic<std::size_t>& size = io_woken ? me_.io_size : me_.deque_size;
      ctx->ready_link(list);
      size.store(size.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    pool_.wake_one_sleeper(index_);
  }

  // Never returns nullptr to a fiber: whenever a fiber runs, its dispatcher waits in pinned_.
  context* pick_next() noexcept override {
    // The dispatcher asking holds no spinlock: a busy worker's turn to poll the reactor.
    if (pool_.io_waiting.load(std::memory_order_relaxed) != 0 &&
        context::active()->is_context(boost::fibers::type::dispatcher_context))
      pool_.poll_io(0, nullptr);
    if (since_pinned_ >= pinned_period || !has_unpinned_work()) {
      if (context* ctx = pop_pinned()) return ctx;
    }
    if (me_.incoming_size.load(std::memory_order_relaxed) != 0) take_incoming();
    if (!placed_.empty()) {
      context* ctx = &placed_.front();  // attached to this worker already
      placed_.pop_front();
      ++since_pinned_;
      return ctx;
    }
    context* ctx = nullptr;
    if (++since_io_ >= io_period) {
      since_io_ = 0;
      ctx = pop_own_io();
    }
    if (ctx == nullptr) ctx = pop_own();
    if (ctx == nullptr) ctx = pop_own_io();
    if (ctx == nullptr) ctx = steal();
    if (ctx == nullptr) return pop_pinned();  // the deque was emptied by a thief meanwhile
    ++since_pinned_;
    context::active()->attach(ctx);
    return ctx;
  }

  bool has_ready_fibers() const noexcept override {
    return !pinned_.empty() || has_unpinned_work();
  }

  void suspend_until(std::chrono::steady_clock::time_point const& deadline) noexcept override {
    me_.sleeping.store(true, std::memory_order_relaxed);
    pool_.sleepers.fetch_add(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    bool woken = false;
    if (!pool_.any_ready(index_) && !spin_for_wake(deadline) && !sleep_on_reactor(deadline)) {
      std::unique_lock lk(me_.sleep_mutex);
      const auto wake_set = [this] { return me_.wake.load(std::memory_order_relaxed); };
      if (deadline == std::chrono::steady_clock::time_point::max())
        me_.sleep_cv.wait(lk, wake_set);
      else
        me_.sleep_cv.wait_until(lk, deadline, wake_set);
    }
    woken = me_.wake.exchange(false);
    pool_.claim_sleeper(index_);  // no-op if a waker already claimed it
    // Boost wakes us (schedule_from_remote -> notify) while the waker still holds one of its
    // spinlocks (a mutex's or condition variable's wait queue), which the fiber we are about to
    // run often needs next. Boost 1.74's spinlock_ttas::lock() never yields (its sleep/yield
    // phase does not count retries and sleep_for(0) is a no-op), so when both threads share a core
    // we would spin until the waker's time slice comes round: measured under taskset -c 0, the
    // mutex/condition-variable ping-pong test took up to 8.7 s instead of 2 ms. Yielding once
    // lets the waker run to its unlock first; on an idle core it costs one syscall.
    if (woken) std::this_thread::yield();
  }

  // Before sleeping, the worker (already announced as a sleeper) watches its wake flag for a
  // few tens of microseconds, as the coroutine scheduler's idle workers search before they park:
  // a fiber readied by another worker a moment later then costs the waker a flag store and an
  // uncontended notify, and the sleeper no futex round trip. Measured, quick profile, 2 workers,
  // two interleaved A/B runs (without -> with): ring of 2 fibers 211-316 -> 19 ms (10.5 us ->
  // 0.9 us per hop), ring of 503 41-58 -> 30-32 ms, unpaced pipeline 19.6-20.2 -> 15.7-15.9 ms,
  // fib(30) cutoff 2 692-703 -> 646-673 ms, spawn and idle unchanged. The price: idle workers
  // burn CPU while they spin (paced pipeline cpu_util 0.14 -> 1.78), and the paced pipeline's
  // median latency went from 1.5 to 8.3 us.
  bool spin_for_wake(std::chrono::steady_clock::time_point const& deadline) noexcept {
    for (unsigned round = 0; round < spin_rounds; ++round) {
      if (me_.wake.load(std::memory_order_relaxed)) return true;
      if (round % 4 == 3 && pool_.poll_io(0, nullptr)) return true;
      if (round % 16 == 15) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::yield();  // a waker sharing our core gets to run
      }
      // The flag is looked at between pauses too: a fiber readied here starts within a pause.
      for (int i = 0; i < 32; ++i) {
        if (me_.wake.load(std::memory_order_relaxed)) return true;
        pause_cpu();
      }
    }
    return me_.wake.load(std::memory_order_relaxed);
  }

  // While fibers wait for I/O, the worker that gets the reactor sleeps in epoll_wait until the
  // deadline, an event (it fires the waiter itself) or a kick from wake(). False if another
  // worker holds the reactor or nothing waits for I/O: then sleep on the condition variable.
  bool sleep_on_reactor(std::chrono::steady_clock::time_point const& deadline) noexcept {
    if (pool_.io_waiting.load(std::memory_order_relaxed) == 0 ||
        pool_.io_polling.load(std::memory_order_relaxed))
      return false;
    std::int64_t timeout_ns = -1;
    if (deadline != std::chrono::steady_clock::time_point::max())
      timeout_ns = std::max<std::int64_t>(
          0, std::chrono::duration_cast<std::chrono::nanoseconds>(
                 deadline - std::chrono::steady_clock::now())
                 .count());
    pool_.poll_io(timeout_ns, &me_);
    return true;
  }

  void notify() noexcept override {
    pool_.claim_sleeper(index_);
    pool_.wake(index_);
  }

 private:
  bool has_unpinned_work() const noexcept {
    return !placed_.empty() || me_.deque_size.load(std::memory_order_relaxed) != 0 ||
           me_.io_size.load(std::memory_order_relaxed) != 0 ||
           me_.incoming_size.load(std::memory_order_relaxed) != 0;
  }

  void send_home(context* ctx, unsigned home) noexcept {
    if (home == index_) {
      ctx->ready_link(placed_);  // stays attached, so its remote wake-ups come here too
      return;
    }
    ctx->detach();
    worker_slot& slot = pool_.slots[home];
    {
      std::lock_guard lk(slot.incoming_mutex);
      ctx->ready_link(slot.incoming);
      slot.incoming_size.store(slot.incoming_size.load(std::memory_order_relaxed) + 1,
                               std::memory_order_relaxed);
    }
    pool_.wake_home(home);
  }

  // Moves every placed fiber sent here by other workers to placed_, in arrival order.
  void take_incoming() noexcept {
    ready_list arrived;
    {
      std::lock_guard lk(me_.incoming_mutex);
      arrived.swap(me_.incoming);
      me_.incoming_size.store(0, std::memory_order_relaxed);
    }
    while (!arrived.empty()) {
      context* ctx = &arrived.front();
      arrived.pop_front();
      context::active()->attach(ctx);
      ctx->ready_link(placed_);
    }
  }

  context* pop_pinned() noexcept {
    if (pinned_.empty()) return nullptr;
    since_pinned_ = 0;
    context* ctx = &pinned_.front();
    pinned_.pop_front();
    return ctx;
  }

  context* pop_own() noexcept {
    if (me_.deque_size.load(std::memory_order_relaxed) == 0) return nullptr;
    std::lock_guard lk(me_.deque_mutex);
    return take(me_.deque, me_.deque_size, /*newest=*/true);
  }

  context* pop_own_io() noexcept {
    if (me_.io_size.load(std::memory_order_relaxed) == 0) return nullptr;
    std::lock_guard lk(me_.deque_mutex);
    return take(me_.io_ready, me_.io_size, /*newest=*/false);
  }

  // The oldest fiber of another worker's deque, else of its readiness list.
  context* steal() noexcept {
    for (unsigned k = 1; k < pool_.count; ++k) {
      worker_slot& victim = pool_.slots[(index_ + k) % pool_.count];
      if (victim.deque_size.load(std::memory_order_relaxed) == 0 &&
          victim.io_size.load(std::memory_order_relaxed) == 0)
        continue;
      std::lock_guard lk(victim.deque_mutex);
      if (context* ctx = take(victim.deque, victim.deque_size, /*newest=*/false)) return ctx;
      if (context* ctx = take(victim.io_ready, victim.io_size, /*newest=*/false)) return ctx;
    }
    return nullptr;
  }

  // Under the list's worker's deque_mutex.
  static context* take(ready_list& list, std::atomic<std::size_t>& size, bool newest) noexcept {
    if (list.empty()) return nullptr;
    context* ctx = newest ? &list.back() : &list.front();
    if (newest)
      list.pop_back();
    else
      list.pop_front();
    size.store(size.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    return ctx;
  }

  pool_state& pool_;
  const unsigned index_;
  worker_slot& me_;
  ready_list pinned_;  // main and dispatcher context of this worker; owner only
  ready_list placed_;  // ready placed fibers whose home is this worker, attached; owner only
  unsigned since_pinned_ = 0;
  unsigned since_io_ = 0;
};

}  // namespace detail

namespace {
// Which pool and worker the calling thread belongs to; lets spawn() find its pool without a
// global and lets a worker tell its own slot. Trivially destructible, so still readable while
// Boost's thread_local scheduler is torn down at thread exit.
thread_local fiber_pool* tls_pool = nullptr;
thread_local int tls_index = -1;
}  // namespace

fiber_pool& detail::current_pool() {
  if (tls_pool == nullptr) throw std::logic_error("cmbench::fibers: not on a fiber_pool worker");
  return *tls_pool;
}

// Not inlined: stay_on() reads it on both sides of a yield that may move the fiber to another
// thread, and a compiler may keep a thread_local's address across the call within one function.
[[gnu::noinline]] int current_worker() noexcept {
  return tls_index;
}

void stay_on(unsigned w) {
  const fiber_pool& pool = detail::current_pool();
  if (w >= pool.workers()) throw std::invalid_argument("stay_on: no such worker");
  detail::marks_of_active().home = w;
  // awakened() sends the yielding fiber home; one round suffices, the loop is for certainty.
  while (current_worker() != static_cast<int>(w)) boost::this_fiber::yield();
}

void wait_ready(int fd, std::uint32_t events) {
  detail::pool_state& pool = *detail::current_pool().state_;
  detail::marks& marks = detail::marks_of_active();
  detail::io_waiter w;
  std::unique_lock lk(w.m);
  epoll_event ev{};
  ev.events = events | EPOLLONESHOT;
  ev.data.ptr = &w;
  // Counted before arming: a worker may poll the event before epoll_ctl returns.
  pool.io_waiting.fetch_add(1, std::memory_order_relaxed);
  // A descriptor is added on its first wait and re-armed after; closing it removes it.
  if (::epoll_ctl(pool.epoll_fd, EPOLL_CTL_MOD, fd, &ev) != 0 &&
      (errno != ENOENT || ::epoll_ctl(pool.epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)) {
    const int e = errno;
    pool.io_waiting.fetch_sub(1, std::memory_order_relaxed);
    throw std::system_error(e, std::generic_category(), "fiber_pool: epoll_ctl");
  }
  // Marked under w.m, which fire() needs before it can wake us: awakened() sees the mark.
  marks.io_woken = true;
  w.cv.wait(lk, [&] { return w.fired; });
}

fiber_pool::fiber_pool(unsigned workers, std::size_t stack_bytes)
    : workers_(workers), stack_bytes_(stack_bytes) {
  if (workers == 0) throw std::invalid_argument("fiber_pool: needs at least one worker");
  // Not stack_traits::minimum_size(): that is glibc's dynamic MINSIGSTKSZ (47 KiB here), sized
  // for signal handlers, not fibers.
  if (stack_bytes < 4096) throw std::invalid_argument("fiber_pool: stack below 4 KiB");
  state_ = std::make_unique<detail::pool_state>(workers);
  threads_.reserve(workers);
  try {
    for (unsigned i = 0; i < workers; ++i) threads_.emplace_back([this, i] { worker_main(i); });
  } catch (...) {
    shutdown();
    throw;
  }
}

fiber_pool::~fiber_pool() {
  shutdown();
}

void fiber_pool::shutdown() noexcept {
  state_->inbox.close();
  for (std::thread& t : threads_) t.join();
}

void fiber_pool::submit(std::function<void()> task) {
  // A pool worker blocking in run() would stop running fibers, possibly the one it waits for.
  if (tls_pool != nullptr) throw std::logic_error("fiber_pool::run called from a pool worker");
  if (state_->inbox.push(std::move(task)) != boost::fibers::channel_op_status::success)
    throw std::logic_error("fiber_pool::run called during destruction");
}

void fiber_pool::worker_main(unsigned index) {
  tls_pool = this;
  tls_index = static_cast<int>(index);
  boost::fibers::use_scheduling_algorithm<detail::pool_algorithm>(*state_, index);
  std::function<void()> task;
  while (state_->inbox.pop(task) == boost::fibers::channel_op_status::success)
    spawn(std::move(task)).detach();
  // Closed: let unjoined fibers finish, since Boost's scheduler teardown would only wait for the
  // fibers attached to this thread, not for ready ones sitting in a deque. Polling is fine: this
  // runs once per pool, and normally finds nothing (or the tail of the last run() fiber).
  while (state_->live_fibers() != 0) boost::this_fiber::sleep_for(std::chrono::microseconds(50));
}

boost::context::stack_context detail::stack_allocator::allocate() {
  boost::context::stack_context sctx;
  sctx.size = pool_->stack_bytes_;
  sctx.sp = static_cast<char*>(pool_->take_stack()) + sctx.size;
  return sctx;
}

void detail::stack_allocator::deallocate(boost::context::stack_context& sctx) noexcept {
  pool_->give_back_stack(static_cast<char*>(sctx.sp) - sctx.size);
}

// Stacks are plain malloc blocks, so one freed on another worker (or thread) than the one that
// allocated it can be cached or freed wherever that happens.
void* fiber_pool::take_stack() {
  if (tls_pool == this) {
    std::vector<void*>& cache = state_->slots[static_cast<unsigned>(tls_index)].stack_cache;
    if (cache.empty() && state_->spare_count.load(std::memory_order_relaxed) != 0) {
      std::lock_guard lk(state_->spare_mutex);
      std::vector<void*>& spare = state_->spare_stacks;
      const std::size_t n = std::min(spare.size(), detail::stack_batch);
      cache.insert(cache.end(), spare.end() - static_cast<std::ptrdiff_t>(n), spare.end());
      spare.resize(spare.size() - n);
      state_->spare_count.store(spare.size(), std::memory_order_relaxed);
    }
    if (!cache.empty()) {
      void* stack = cache.back();
      cache.pop_back();
      // Boost.Context switches carry no ASan annotations here, so a fiber that ended leaves its
      // frames' scope poisoning in the block; the next fiber's frames would trip on it. A no-op
      // outside ASan.
      ASAN_UNPOISON_MEMORY_REGION(stack, stack_bytes_);
      return stack;
    }
  }
  void* stack = std::malloc(stack_bytes_);
  if (stack == nullptr) throw std::bad_alloc();
  state_->stacks_allocated.fetch_add(1, std::memory_order_relaxed);
  std::memset(stack, detail::stack_guard_pattern, detail::stack_guard_bytes);
  return stack;
}

// A cached stack's guard is known intact, so only a fresh block is painted; each given-back stack
// is checked once, here, before it is cached or freed. Eight bytes at a time, differences OR-ed
// together with no early exit: a loop g++ unrolls into wide loads and one test, where the byte
// loop with an early exit stays a byte loop (its cost is in the commit that made this change).
bool fiber_pool::guard_intact(const void* stack) noexcept {
  static_assert(detail::stack_guard_bytes % sizeof(std::uint64_t) == 0);
  constexpr std::uint64_t pattern = 0x0101010101010101ull * detail::stack_guard_pattern;
  const auto* bytes = static_cast<const unsigned char*>(stack);
  std::uint64_t differs = 0;
  for (std::size_t i = 0; i < detail::stack_guard_bytes; i += sizeof(std::uint64_t)) {
    std::uint64_t word;
    std::memcpy(&word, bytes + i, sizeof word);
    differs |= word ^ pattern;
  }
  return differs == 0;
}

void fiber_pool::give_back_stack(void* stack) noexcept {
  if (!guard_intact(stack)) {
    state_->stack_overflows.fetch_add(1, std::memory_order_relaxed);
    std::free(stack);
    return;
  }
  if (tls_pool == this) {
    std::vector<void*>& cache = state_->slots[static_cast<unsigned>(tls_index)].stack_cache;
    if (cache.size() == detail::stack_cache_capacity) {
      try {
        std::lock_guard lk(state_->spare_mutex);
        std::vector<void*>& spare = state_->spare_stacks;
        spare.insert(spare.end(), cache.end() - static_cast<std::ptrdiff_t>(detail::stack_batch),
                     cache.end());
        state_->spare_count.store(spare.size(), std::memory_order_relaxed);
        cache.resize(cache.size() - detail::stack_batch);
      } catch (...) {  // no room to remember them (or no lock): this one goes to malloc
        std::free(stack);
        return;
      }
    }
    cache.push_back(stack);  // within the reserved capacity: no allocation
    return;
  }
  std::free(stack);
}

std::uint64_t fiber_pool::stack_overflows() const noexcept {
  return state_->stack_overflows.load(std::memory_order_relaxed);
}

std::uint64_t fiber_pool::stacks_allocated() const noexcept {
  return state_->stacks_allocated.load(std::memory_order_relaxed);
}

void fiber_pool::fiber_started() noexcept {
  state_->slots[static_cast<unsigned>(tls_index)].started.fetch_add(1);
}

void fiber_pool::fiber_finished() noexcept {
  state_->slots[static_cast<unsigned>(tls_index)].finished.fetch_add(1);
}

}  // namespace cmbench::fibers
