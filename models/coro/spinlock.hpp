// spinlock: a test-and-test-and-set lock for the scheduler's short critical sections.
#pragma once

#include <atomic>
#include <thread>

namespace cmbench::coro {

// The injection queue and the timer heap are held for a push or a pop. Under contention
// std::mutex put the loser to sleep in the kernel (futex), and 100000 concurrent waits on 2
// workers spent their time there; spinning briefly is cheaper for sections this short.
class spinlock {
 public:
  void lock() noexcept {
    for (int spins = 0;; ++spins) {
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      while (locked_.load(std::memory_order_relaxed)) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        if (++spins > 1000) std::this_thread::yield();  // the holder may be descheduled
      }
    }
  }
  bool try_lock() noexcept {
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace cmbench::coro
