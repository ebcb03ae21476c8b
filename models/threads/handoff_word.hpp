// handoff_word: a word one thread waits on and another sets, spinning before it parks on a futex.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace cmbench::threads_model {

// What an expert hand-off between threads looks like (the shape of glibc's adaptive mutex and of
// every work-stealing runtime's idle loop): the waiter spins for a bounded time, then parks on a
// futex on the word itself; the setter makes a system call only when the waiter has really parked.
// std::atomic::wait in libstdc++ 12 spins far shorter (a dozen pauses and a few yields) and keeps
// its waiter count in a 16-entry table that every 64-byte-aligned word hashes into, so its
// notify_one makes a futex call on nearly every hand-off, whether anybody sleeps or not.
//
// Spin only where the waiter has a core of its own: a spinner sharing a core with the thread that
// would give it the value only delays that thread.
class handoff_word {
 public:
  static constexpr std::uint32_t empty = 0;

  // Waits until the word holds a value other than empty, spinning for up to `spin` first; returns
  // the value and leaves the word empty. One waiter at a time; each set() is taken once.
  std::uint32_t take(std::chrono::nanoseconds spin) noexcept {
    std::uint32_t v = spin_for(spin);
    if (v == empty) {
      std::uint32_t expected = empty;
      if (word_.compare_exchange_strong(expected, parked, std::memory_order_acq_rel)) {
        do {
          futex(FUTEX_WAIT_PRIVATE, parked);  // returns at once unless the word still says parked
          v = word_.load(std::memory_order_acquire);
        } while (v == parked);
      } else {
        v = expected;
      }
    }
    word_.store(empty, std::memory_order_relaxed);
    return v;
  }

  // Sets the word to `value` (not empty); what was written before is visible to the taker. Wakes
  // the taker if it parked: the only case that costs a system call.
  void set(std::uint32_t value) noexcept {
    if (word_.exchange(value, std::memory_order_acq_rel) == parked) futex(FUTEX_WAKE_PRIVATE, 1);
  }

 private:
  static constexpr std::uint32_t parked = ~std::uint32_t{0};

  std::uint32_t spin_for(std::chrono::nanoseconds spin) noexcept {
    if (spin.count() <= 0) return word_.load(std::memory_order_acquire);
    const auto until = std::chrono::steady_clock::now() + spin;
    for (;;) {
      for (int i = 0; i < 64; ++i) {  // the clock is read once in 64 looks (~20 ns a reading)
        const std::uint32_t v = word_.load(std::memory_order_acquire);
        if (v != empty) return v;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
      if (std::chrono::steady_clock::now() >= until) return empty;
    }
  }

  void futex(int op, std::uint32_t value) noexcept {
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word_), op, value, nullptr, nullptr, 0);
  }

  std::atomic<std::uint32_t> word_{empty};
};
static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));

}  // namespace cmbench::threads_model
