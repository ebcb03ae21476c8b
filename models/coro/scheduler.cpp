#include "models/coro/scheduler.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace cmbench::coro {

namespace detail {
constinit thread_local worker_state* this_worker = nullptr;
void wake_one(scheduler* s) {
  s->wake_one();
}
}  // namespace detail

namespace {

std::int64_t to_ns(clock::time_point tp) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(tp.time_since_epoch()).count();
}
std::int64_t now_ns() {
  return to_ns(clock::now());
}

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

std::uint64_t next_random(std::uint64_t& s) {  // xorshift64
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

// An idle worker searches (steal attempts with pauses) for about this many rounds, about a
// millisecond, before it parks: long enough to ride out the gaps of fork-join work without a futex
// round trip, which on a virtual machine can take longer than the gap itself. Measured here with
// 256 rounds (~0.15 ms): fib n:32 cutoff:26 on 2 workers took 3.7-8.9 ms over six runs (oneTBB
// 3.4-4.4 ms), the second worker parked through much of it; with 2048 rounds, 3.4-4.2 ms (oneTBB
// 3.0-4.8). The same change took wait n:10000's p99 from 2.2 ms to 62 us; ring and pipeline moved
// within their noise. The price is CPU time: an idle worker spins up to a millisecond.
constexpr int search_rounds = 2048;
// While coroutines wait for I/O the search is short (about 50 us): the worker that parks then
// sleeps in epoll_wait, where readiness wakes it directly, and a long spin takes the CPU from the
// threads that make the sockets ready. Measured here on echo (2 workers, 2 cores shared with the
// client's 2 threads; 3 runs of 3 repetitions each, medians): with 2048 rounds, open loop at
// C = 100 p50 200-400 us and p99 4.3-5.1 ms, closed loop C = 10 69-81k requests/s and C = 1000
// 41-48k; with 64 rounds, 180-192 us, 0.9-1.7 ms, 85-91k and 48-53k.
constexpr int io_search_rounds = 64;
constexpr int pauses_per_round = 16;
// An idle worker takes another worker's timer once it is this late: the owner fires its own
// timers within a task's time, and a thief that raced it for each one made both wait on the
// heap's lock and its lines (wait n:10000 on 2 workers: take_expired 25% of the profile, most of
// it spinning). A timer whose owner is busy with a long task, or parked, waits at most this long.
constexpr std::int64_t timer_steal_grace_ns = 20'000;
// A parked worker looks again after this long even without a wake-up; this bounds the cost of
// the rare wake-up that notify_push's relaxed loads miss.
constexpr std::int64_t park_recheck_ns = 1'000'000;
// A busy worker polls the reactor once in this many tasks (a power of two), and only while some
// coroutine waits for I/O; tokio's workers poll theirs every 61 tasks for the same reason.
constexpr std::uint32_t io_poll_interval = 64;
constexpr int io_events_per_poll = 64;

// A coroutine parked on readiness reaches the worker that polls its event through the kernel:
// epoll_ctl arms the descriptor, epoll_wait on another thread returns it. ThreadSanitizer sees
// that order only through its interceptors, which in GCC 12's libtsan release the epoll set on
// EPOLL_CTL_ADD (not MOD) and acquire it after epoll_wait (epoll_pwait2 is not intercepted).
// Under TSan the reactor therefore re-arms with DEL + ADD and polls with epoll_wait (a
// millisecond timeout, rounded up), the same waits expressed in the calls TSan models, so that it
// sees what the kernel orders: the frame written before the wait, read after it, and the
// descriptor armed on one worker, closed on another.
#if defined(__SANITIZE_THREAD__)
constexpr bool tsan_epoll = true;
#else
constexpr bool tsan_epoll = false;
#endif

[[noreturn]] void fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

int wait_events(int epoll_fd, epoll_event* events, std::int64_t timeout_ns) {
  timespec t{};
  t.tv_sec = timeout_ns / 1'000'000'000;
  t.tv_nsec = timeout_ns % 1'000'000'000;
  const int n = tsan_epoll ? ::epoll_wait(epoll_fd, events, io_events_per_poll,
                                          static_cast<int>((timeout_ns + 999'999) / 1'000'000))
                           : ::epoll_pwait2(epoll_fd, events, io_events_per_poll, &t, nullptr);
  if (n >= 0) return n;
  if (errno == EINTR) return 0;
  std::terminate();  // coroutines parked on readiness could never be woken
}

}  // namespace

readiness_awaiter readable(int fd) noexcept {
  return {fd, EPOLLIN};
}
readiness_awaiter writable(int fd) noexcept {
  return {fd, EPOLLOUT};
}

scheduler::scheduler(unsigned n) {
  if (n == 0) throw std::invalid_argument("coro::scheduler needs at least one worker");
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) fail("coro::scheduler: epoll_create1");
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: a wake-up stays pending until a poll drains it
  ev.data.ptr = nullptr;
  if (wake_fd_ < 0 || ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    const int e = errno;
    if (wake_fd_ >= 0) ::close(wake_fd_);
    ::close(epoll_fd_);
    throw std::system_error(e, std::generic_category(), "coro::scheduler: wake-up eventfd");
  }
  workers_.reserve(n);
  for (unsigned i = 0; i < n; ++i) {
    auto w = std::make_unique<worker>();
    w->owner = this;
    w->index = i;
    w->sleepers = &sleepers_;
    w->searching = &searching_;
    w->rng = 0x9E3779B97F4A7C15ull * (i + 1);
    workers_.push_back(std::move(w));
  }
  threads_.reserve(n - 1);
  for (unsigned i = 1; i < n; ++i)
    threads_.emplace_back([this, w = workers_[i].get()] { work(*w, &stop_); });
}

scheduler::~scheduler() {
  stop_.store(true, std::memory_order_release);
  wake_all();
  for (auto& t : threads_) t.join();
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

int scheduler::current_worker() noexcept {
  return detail::this_worker ? static_cast<int>(detail::this_worker->index) : -1;
}

void scheduler::run_root(std::coroutine_handle<> h) {
  if (detail::this_worker) throw std::logic_error("coro::scheduler::run() called from a worker");
  done_.store(false, std::memory_order_relaxed);
  post(h);
  work(*workers_[0], &done_);
}

void scheduler::work(worker& w, const std::atomic<bool>* until) {
  detail::this_worker = &w;
  while (!until->load(std::memory_order_acquire)) {
    if (!run_one(w)) idle(w, until);
  }
  detail::this_worker = nullptr;
}

bool scheduler::run_one(worker& w) {
  const std::uint32_t tick = ++w.tick;
  if (io_waiting_.load(std::memory_order_relaxed) != 0 && (tick & (io_poll_interval - 1)) == 0)
    poll_io();

  // Woken and posted tasks go before this worker's own continuations, as an event loop runs its
  // ready callbacks in turn: a coroutine spawning many waits must not keep the ones already due
  // from running. Expired timers come after the injection queue (I/O readiness, posts), except
  // once every io_poll_interval tasks, so that neither can starve the other: a coroutine that
  // sleeps for 0 in a loop does not keep a socket's coroutine waiting, nor one that posts itself
  // a sleeper. Fork-join work never posts or sleeps, so it pays four relaxed loads here, three
  // of them on one line, and an increment.
  if (has_posted(w) && run_inbox(w)) return true;
  if ((tick & (io_poll_interval - 1)) == io_poll_interval / 2 && run_expired_timer(w)) return true;
  if (inject_size_.load(std::memory_order_relaxed) != 0) {
    std::coroutine_handle<> h;
    {
      std::lock_guard lk(inject_mutex_);
      if (!inject_.empty()) {
        h = inject_.front();
        inject_.pop_front();
        inject_size_.store(inject_.size(), std::memory_order_relaxed);
      }
    }
    if (h) {
      h.resume();
      return true;
    }
  }
  if (run_expired_timer(w)) return true;
  if (detail::promise_base* p = w.deque.pop()) {
    detail::on_continuation_taken(p);
    p->self().resume();
    return true;
  }
  return try_steal(w);
}

bool scheduler::try_steal(worker& w) {
  const std::size_t n = workers_.size();
  if (n == 1) return false;
  const std::size_t start = next_random(w.rng) % n;
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t victim = (start + k) % n;
    if (victim == w.index) continue;
    if (detail::promise_base* p = workers_[victim]->deque.steal()) {
      detail::on_continuation_taken(p);
      p->self().resume();
      return true;
    }
  }
  return steal_expired_timer(w);
}

std::coroutine_handle<> scheduler::take_expired(worker& w, std::int64_t now,
                                               bool owner) noexcept {
  std::coroutine_handle<> h;
  // A thief does not wait for the lock: whoever holds it is firing this heap's timers already.
  if (owner)
    w.timer_mutex.lock();
  else if (!w.timer_mutex.try_lock())
    return h;
  std::lock_guard lk(w.timer_mutex, std::adopt_lock);
  std::vector<timer>& heap = w.timers;
  if (!heap.empty() && heap.front().deadline_ns <= now) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>{});
    h = heap.back().h;
    heap.pop_back();
    w.next_deadline_ns.store(heap.empty() ? INT64_MAX : heap.front().deadline_ns,
                             std::memory_order_relaxed);
  }
  return h;
}

// One expired timer of this worker's, earliest first: its heap is a ready queue in deadline order.
bool scheduler::run_expired_timer(worker& w) {
  const std::int64_t next = w.next_deadline_ns.load(std::memory_order_relaxed);
  if (next == INT64_MAX) return false;
  const std::int64_t now = now_ns();
  if (next > now) return false;
  const std::coroutine_handle<> h = take_expired(w, now, true);
  if (!h) return false;
  h.resume();
  return true;
}

// An expired timer of another worker, which is busy or parked past the deadline.
bool scheduler::steal_expired_timer(worker& w) {
  const std::size_t n = workers_.size();
  std::int64_t now = 0;
  for (std::size_t k = 1; k < n; ++k) {
    worker& v = *workers_[(w.index + k) % n];
    const std::int64_t next = v.next_deadline_ns.load(std::memory_order_relaxed);
    if (next == INT64_MAX) continue;
    if (now == 0) now = now_ns();
    if (next > now - timer_steal_grace_ns) continue;
    if (const std::coroutine_handle<> h = take_expired(v, now - timer_steal_grace_ns, false)) {
      h.resume();
      return true;
    }
  }
  return false;
}

std::int64_t scheduler::earliest_deadline(const worker& me) const noexcept {
  std::int64_t earliest = me.next_deadline_ns.load(std::memory_order_relaxed);
  for (const auto& w : workers_) {
    const std::int64_t next = w->next_deadline_ns.load(std::memory_order_relaxed);
    if (w.get() != &me && next != INT64_MAX)
      earliest = std::min(earliest, next + timer_steal_grace_ns);
  }
  return earliest;
}

void scheduler::post(std::coroutine_handle<> h) {
  {
    std::lock_guard lk(inject_mutex_);
    inject_.push_back(h);
    inject_size_.store(inject_.size(), std::memory_order_relaxed);
  }
  wake_if_sleeping();
}

void scheduler::post_to(unsigned index, std::coroutine_handle<> h) {
  worker& w = *workers_.at(index);
  void* empty = nullptr;
  if (w.inbox_size.load(std::memory_order_relaxed) != 0 ||
      !w.handoff.compare_exchange_strong(empty, h.address(), std::memory_order_release,
                                         std::memory_order_relaxed)) {
    std::lock_guard lk(w.inbox_mutex);
    w.inbox.push_back(h);
    w.inbox_size.store(w.inbox.size(), std::memory_order_relaxed);
  }
  // The condition variable cannot pick a worker, so a sleeping target is reached by waking all:
  // a cost paid only when workers have parked, which the search keeps rare while work flows.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_relaxed) != 0) wake_all();
}

// The coroutine in w's hand-off word, taken out, or nullptr. Owner only: since nobody else
// empties the word, nobody writes it while it holds a coroutine.
std::coroutine_handle<> scheduler::take_handoff(worker& w) noexcept {
  void* first = w.handoff.load(std::memory_order_acquire);
  if (first != nullptr) w.handoff.store(nullptr, std::memory_order_relaxed);
  return std::coroutine_handle<>::from_address(first);
}

bool scheduler::run_inbox(worker& w) {
  std::coroutine_handle<> h = take_handoff(w);
  if (!h) {
    if (w.inbox_size.load(std::memory_order_relaxed) == 0) return false;
    std::lock_guard lk(w.inbox_mutex);
    // A poster fills the word only while the inbox is empty, so a word filled before these
    // posts is older than they are: the lock makes it visible here, take it first.
    h = take_handoff(w);
    if (!h) {
      if (w.inbox.empty()) return false;
      h = w.inbox.front();
      w.inbox.pop_front();
      w.inbox_size.store(w.inbox.size(), std::memory_order_relaxed);
    }
  }
  h.resume();
  return true;
}

void scheduler::post_at(clock::time_point deadline, std::coroutine_handle<> h) {
  const std::int64_t d = to_ns(deadline);
  worker& w = detail::this_worker != nullptr && detail::this_worker->owner == this
                  ? static_cast<worker&>(*detail::this_worker)
                  : *workers_[0];
  bool earliest = false;
  {
    std::lock_guard lk(w.timer_mutex);
    w.timers.push_back({d, h});
    std::push_heap(w.timers.begin(), w.timers.end(), std::greater<>{});
    if (d < w.next_deadline_ns.load(std::memory_order_relaxed)) {
      w.next_deadline_ns.store(d, std::memory_order_relaxed);
      earliest = true;
    }
  }
  // A parked worker sleeps until the earliest deadline it saw; have one look again. (The worker
  // that owns the heap fires its timers itself unless it is busy with one long task.)
  if (earliest) wake_if_sleeping();
}

void scheduler::post_when_ready(int fd, std::uint32_t events, std::coroutine_handle<> h) {
  epoll_event ev{};
  ev.events = events | EPOLLONESHOT;
  ev.data.ptr = h.address();
  // Counted before arming: the event may be polled, and h resumed, before epoll_ctl returns.
  io_waiting_.fetch_add(1, std::memory_order_relaxed);
  // A descriptor is added on its first wait and re-armed after; closing it removes it.
  if (tsan_epoll) {  // see tsan_epoll
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);  // ENOENT on the first wait
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0) return;
  } else {
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) == 0) return;
    if (errno == ENOENT && ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0) return;
  }
  io_waiting_.fetch_sub(1, std::memory_order_relaxed);
  fail("coro::scheduler: epoll_ctl (waiting for readiness)");
}

// The ready coroutines of a poll go to the injection queue, in the order epoll reported them;
// the wake-up eventfd is drained. Returns whether any coroutine became ready.
bool scheduler::inject_ready(const epoll_event* events, int n) {
  std::coroutine_handle<> ready[io_events_per_poll];
  int k = 0;
  for (int i = 0; i < n; ++i) {
    if (events[i].data.ptr == nullptr) {
      std::uint64_t count;
      [[maybe_unused]] const ssize_t r = ::read(wake_fd_, &count, sizeof count);
    } else {
      ready[k++] = std::coroutine_handle<>::from_address(events[i].data.ptr);
    }
  }
  if (k == 0) return false;
  io_waiting_.fetch_sub(k, std::memory_order_relaxed);
  inject_batch(ready, ready + k);
  return true;
}

void scheduler::inject_batch(const std::coroutine_handle<>* first,
                             const std::coroutine_handle<>* last) {
  {
    std::lock_guard lk(inject_mutex_);
    inject_.insert(inject_.end(), first, last);
    inject_size_.store(inject_.size(), std::memory_order_relaxed);
  }
  if (last - first > 1) wake_if_sleeping();  // this worker takes one; let another help
}

// Polls the reactor without blocking, unless another worker is already polling it.
bool scheduler::poll_io() {
  if (io_polling_.exchange(true, std::memory_order_acquire)) return false;
  epoll_event events[io_events_per_poll];
  const int n = wait_events(epoll_fd_, events, 0);
  io_polling_.store(false, std::memory_order_release);
  return n > 0 && inject_ready(events, n);
}

bool scheduler::work_visible(const worker& me) const noexcept {
  if (has_posted(me)) return true;
  if (inject_size_.load(std::memory_order_relaxed) != 0) return true;
  for (const auto& w : workers_)
    if (!w->deque.empty_hint()) return true;
  const std::int64_t next = earliest_deadline(me);
  return next != INT64_MAX && next <= now_ns();
}

void scheduler::idle(worker& w, const std::atomic<bool>* until) {
  searching_.fetch_add(1, std::memory_order_relaxed);
  const int rounds =
      io_waiting_.load(std::memory_order_relaxed) != 0 ? io_search_rounds : search_rounds;
  for (int round = 0; round < rounds; ++round) {
    if (work_visible(w) || until->load(std::memory_order_relaxed) ||
        (io_waiting_.load(std::memory_order_relaxed) != 0 && poll_io())) {
      searching_.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
    // Between full looks, only this worker's posts (its own cache line until a post writes it):
    // a coroutine placed here by another worker starts within a pause, not a round of them.
    for (int i = 0; i < pauses_per_round; ++i) {
      if (has_posted(w)) {
        searching_.fetch_sub(1, std::memory_order_relaxed);
        return;
      }
      cpu_relax();
    }
  }
  searching_.fetch_sub(1, std::memory_order_relaxed);

  std::unique_lock lk(park_mutex_);
  const std::uint64_t epoch = wake_epoch_;
  sleepers_.fetch_add(1, std::memory_order_seq_cst);
  // Pairs with the fence in wake_if_sleeping() and post_to(): the relaxed looks below must not
  // be ordered before the increment (x86's locked add is such a fence already).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!work_visible(w) && !until->load(std::memory_order_relaxed)) {
    const std::int64_t next = earliest_deadline(w);
    const std::int64_t wake_at = std::min(next, now_ns() + park_recheck_ns);
    if (io_waiting_.load(std::memory_order_relaxed) != 0 &&
        !io_polling_.exchange(true, std::memory_order_acquire)) {
      // Some coroutine waits for I/O and no other worker polls: sleep in epoll_wait, where a
      // ready socket wakes this worker directly and wake_one() reaches it through wake_fd_.
      io_parked_ = true;
      lk.unlock();
      park_on_io(wake_at);
      return;
    }
    ++cv_sleepers_;
    const clock::time_point tp{std::chrono::nanoseconds(wake_at)};
    park_cv_.wait_until(
        lk, tp, [&] { return wake_epoch_ != epoch || until->load(std::memory_order_relaxed); });
    --cv_sleepers_;
  }
  sleepers_.fetch_sub(1, std::memory_order_relaxed);
}

// Called holding io_polling_, with io_parked_ set and this worker counted in sleepers_.
void scheduler::park_on_io(std::int64_t wake_at_ns) {
  epoll_event events[io_events_per_poll];
  const int n = wait_events(epoll_fd_, events, std::max<std::int64_t>(0, wake_at_ns - now_ns()));
  {
    std::lock_guard lk(park_mutex_);
    io_parked_ = false;
  }
  sleepers_.fetch_sub(1, std::memory_order_relaxed);
  io_polling_.store(false, std::memory_order_release);
  if (n > 0) inject_ready(events, n);
}

void scheduler::wake_if_sleeping() {
  // Pairs with the sleeper's seq_cst increment of sleepers_ followed by its work_visible() check:
  // either it sees what was just published, or this load sees it and wakes it.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_relaxed) != 0) wake_one();
}

void scheduler::wake_one() {
  bool kick = false;
  {
    std::lock_guard lk(park_mutex_);
    ++wake_epoch_;
    // A worker on the condition variable first: the one in epoll_wait already waits for
    // something, readiness. Once kicked it no longer counts, so one eventfd write suffices.
    if (cv_sleepers_ == 0) kick = std::exchange(io_parked_, false);
  }
  if (kick)
    kick_reactor();
  else
    park_cv_.notify_one();
}

void scheduler::wake_all() {
  bool kick = false;
  {
    std::lock_guard lk(park_mutex_);
    ++wake_epoch_;
    kick = std::exchange(io_parked_, false);
  }
  park_cv_.notify_all();
  if (kick) kick_reactor();
}

void scheduler::kick_reactor() noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t r = ::write(wake_fd_, &one, sizeof one);
}

}  // namespace cmbench::coro
