// frame_allocator: per-thread free lists that recycle coroutine frames by size class.
#pragma once

#include <cstddef>
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
class frame_cache {
 public:
  static constexpr std::size_t granule = 64;
  static constexpr std::size_t classes = 16;  // frames up to 1 KiB; larger ones use the heap
  static constexpr unsigned max_cached = 1024;

  void* allocate(std::size_t size) {
    const std::size_t c = (size - 1) / granule;
    if (c >= classes) return ::operator new(size);
    if (node* n = heads_[c]) {
      heads_[c] = n->next;
      --counts_[c];
      return n;
    }
    return ::operator new((c + 1) * granule);
  }

  void deallocate(void* p, std::size_t size) noexcept {
    const std::size_t c = (size - 1) / granule;
    if (c >= classes || counts_[c] >= max_cached) {
      ::operator delete(p);
      return;
    }
    heads_[c] = new (p) node{heads_[c]};
    ++counts_[c];
  }

  ~frame_cache() {
    for (node* head : heads_)
      while (head) {
        node* next = head->next;
        ::operator delete(head);
        head = next;
      }
  }

 private:
  struct node {
    node* next;
  };
  node* heads_[classes] = {};
  unsigned counts_[classes] = {};
};

inline thread_local frame_cache this_thread_frames;

}  // namespace cmbench::coro::detail
