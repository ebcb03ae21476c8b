// A Chase-Lev work-stealing deque: the owner pushes and pops at the bottom, thieves steal at the
// top.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace cmbench::coro {

// Written here rather than taken from a library because no packaged one offers it for our
// toolchains. The memory orders follow Le, Pop, Cohen and Zappa Nardelli, "Correct and Efficient
// Work-Stealing for Weak Memory Models" (PPoPP 2013). The ring grows when full; a replaced ring is
// kept until the deque dies, because a thief may still be reading it.
template <class T>
class work_deque {
  static_assert(std::is_trivially_copyable_v<T>);

  struct ring {
    explicit ring(std::size_t capacity) : mask(capacity - 1), slots(capacity) {}
    std::size_t capacity() const { return mask + 1; }
    T load(std::int64_t i) const { return slots[i & mask].load(std::memory_order_relaxed); }
    void store(std::int64_t i, T v) { slots[i & mask].store(v, std::memory_order_relaxed); }
    std::size_t mask;
    std::vector<std::atomic<T>> slots;
  };

 public:
  explicit work_deque(std::size_t capacity = 1024) {
    rings_.push_back(std::make_unique<ring>(capacity));
    ring_.store(rings_.back().get(), std::memory_order_relaxed);
  }
  work_deque(const work_deque&) = delete;
  work_deque& operator=(const work_deque&) = delete;

  // Owner only.
  void push(T value) {
    std::int64_t b = bottom_.load(std::memory_order_relaxed);
    std::int64_t t = top_.load(std::memory_order_acquire);
    ring* r = ring_.load(std::memory_order_relaxed);
    if (b - t > static_cast<std::int64_t>(r->mask)) r = grow(r, t, b);
    r->store(b, value);
    std::atomic_thread_fence(std::memory_order_release);
    bottom_.store(b + 1, publish_order);
  }

  // Owner only. Returns T{} when empty.
  T pop() {
    std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
    ring* r = ring_.load(std::memory_order_relaxed);
    bottom_.store(b, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    std::int64_t t = top_.load(std::memory_order_relaxed);
    if (t > b) {  // was empty
      bottom_.store(b + 1, std::memory_order_relaxed);
      return T{};
    }
    T value = r->load(b);
    if (t == b) {  // last element: race against thieves for it
      if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                        std::memory_order_relaxed))
        value = T{};
      bottom_.store(b + 1, std::memory_order_relaxed);
    }
    return value;
  }

  // Any thread. Returns T{} when empty or when it lost a race.
  T steal() {
    std::int64_t t = top_.load(std::memory_order_acquire);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    std::int64_t b = bottom_.load(std::memory_order_acquire);
    if (t >= b) return T{};
    ring* r = ring_.load(std::memory_order_consume);
    T value = r->load(t);
    if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                      std::memory_order_relaxed))
      return T{};
    return value;
  }

  // A hint for idle checks; exact only when no other thread touches the deque.
  bool empty_hint() const {
    return bottom_.load(std::memory_order_relaxed) <= top_.load(std::memory_order_relaxed);
  }

 private:
  // ThreadSanitizer does not model fences, so it would not see that the release fence in push()
  // orders the pushed item (and what the owner wrote before it) before a thief's acquire load of
  // bottom_. Under it the store of bottom_ is a release store itself: the same instruction on
  // x86, one TSan sees. Nothing is suppressed.
#if defined(__SANITIZE_THREAD__)
  static constexpr std::memory_order publish_order = std::memory_order_release;
#else
  static constexpr std::memory_order publish_order = std::memory_order_relaxed;
#endif

  ring* grow(ring* old, std::int64_t t, std::int64_t b) {
    auto bigger = std::make_unique<ring>(old->capacity() * 2);
    for (std::int64_t i = t; i < b; ++i) bigger->store(i, old->load(i));
    ring* r = bigger.get();
    rings_.push_back(std::move(bigger));
    ring_.store(r, std::memory_order_release);
    return r;
  }

  alignas(64) std::atomic<std::int64_t> top_{0};
  alignas(64) std::atomic<std::int64_t> bottom_{0};
  alignas(64) std::atomic<ring*> ring_{nullptr};
  std::vector<std::unique_ptr<ring>> rings_;  // owner only
};

}  // namespace cmbench::coro
