// frame_allocator: per-thread free lists that recycle coroutine frames by size class.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define CMBENCH_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CMBENCH_ADDRESS_SANITIZER 1
#endif
#endif
#ifndef CMBENCH_ADDRESS_SANITIZER
#define CMBENCH_ADDRESS_SANITIZER 0
#endif

namespace cmbench::coro::detail {

// Fork-join creates and destroys a frame per task; with glibc's malloc that was the largest cost
// left (skynet, 1 worker: 43 ns/task with malloc, 29 ns with a larger tcache; perf showed
// _int_free on top). Frames are recycled here instead, as oneTBB recycles task objects in its
// small-object pool. A frame freed on another thread joins that thread's list; each list keeps at
// most `max_cached` frames and hands the rest back to the heap, so nothing grows without bound.
//
// Size classes follow glibc's chunks, so that a frame costs what malloc would charge for its exact
// size: class c holds frames of up to 16c + 8 bytes, which malloc serves from a 16c + 16 byte chunk
// (its 8-byte size word, then 16-byte steps). A parked coroutine of 104 bytes thus costs 112,
// where 64-byte classes charged 136 for it (128 + the header).
//
// The cache is trivially destructible and constant-initialized, so the hot path reads a plain
// thread-local with no initialization guard (a destructor would put a guard call on every
// allocation and free: skynet 6% and fib 10% slower, measured). A thread's first cached frame
// registers a separate thread-local reaper that empties the lists when the thread ends.
class frame_cache {
 public:
  static constexpr std::size_t classes = 64;  // frames up to 1016 bytes; larger ones use the heap
  static constexpr std::uint16_t max_cached = 1024;

  static constexpr std::size_t class_of(std::size_t size) noexcept { return (size + 7) / 16; }
  static constexpr std::size_t capacity(std::size_t c) noexcept { return 16 * c + 8; }

  constexpr frame_cache() noexcept = default;

  void* allocate(std::size_t size) {
    const std::size_t c = class_of(size);
    if (c >= classes) return ::operator new(size);
    if (node* n = heads_[c]) {
      heads_[c] = n->next;
      ++room_[c];
      return n;
    }
    return ::operator new(capacity(c));
  }

  void deallocate(void* p, std::size_t size) noexcept {
    const std::size_t c = class_of(size);
    if (c >= classes || (room_[c] == 0 && !make_room())) {
      ::operator delete(p);
      return;
    }
    heads_[c] = new (p) node{heads_[c]};
    --room_[c];
  }

 private:
  struct node {
    node* next;
  };
  struct reaper {
    ~reaper();
  };

  // room_[c] == 0: the list is full, or this thread has not registered its reaper yet (the
  // initial state), or the thread is ending. Returns whether the frame may be cached after all.
  [[gnu::noinline, gnu::cold]] bool make_room() noexcept {
    if (registered_) return false;  // full, or the thread is ending
    static thread_local reaper at_thread_exit;  // constructed here, destroyed as the thread ends
    registered_ = true;
    for (std::uint16_t& r : room_) r = max_cached;
    return true;
  }
  void release_all() noexcept;

  node* heads_[classes] = {};
  std::uint16_t room_[classes] = {};  // frames class c may still take
  bool registered_ = false;
};

inline constinit thread_local frame_cache this_thread_frames;

inline void frame_cache::release_all() noexcept {
  for (std::size_t c = 0; c < classes; ++c) {
    while (node* n = heads_[c]) {
      heads_[c] = n->next;
      ::operator delete(n);
    }
    room_[c] = 0;  // registered_ stays set: frames freed from here on go to the heap
  }
}

inline frame_cache::reaper::~reaper() {
  this_thread_frames.release_all();
}

}  // namespace cmbench::coro::detail
