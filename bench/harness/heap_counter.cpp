#include "bench/harness/heap_counter.hpp"

#include <atomic>
#include <cstddef>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define CMBENCH_HEAP_COUNTER_OFF 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CMBENCH_HEAP_COUNTER_OFF 1
#endif

#ifdef CMBENCH_HEAP_COUNTER_OFF

namespace cmbench::heap_counter {
bool available() noexcept {
  return false;
}
void start() noexcept {}
totals stop() noexcept {
  return {0, 0};
}
}  // namespace cmbench::heap_counter

#else

#include <dlfcn.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace {

// Separate cache lines: every malloc in the process reads `enabled`; only counting writes `sums`.
struct alignas(64) flag {
  std::atomic<bool> on{false};
} enabled;
struct alignas(64) counters {
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> allocations{0};
} sums;

// Set while a oneTBB allocation is forwarded, so that if libtbb falls back to malloc (no
// libtbbmalloc) or tbbmalloc calls malloc internally, the bytes are not counted twice.
// initial-exec: a dynamic TLS access could itself call malloc.
__attribute__((tls_model("initial-exec"))) thread_local bool inside_tbb = false;

inline void add(std::size_t bytes) noexcept {
  sums.bytes.fetch_add(bytes, std::memory_order_relaxed);
  sums.allocations.fetch_add(1, std::memory_order_relaxed);
}

// While disabled, the relaxed load of `enabled` (and a branch) is the whole cost.
inline void note(const void* p, std::size_t bytes) noexcept {
  if (enabled.on.load(std::memory_order_relaxed) && p != nullptr && !inside_tbb) add(bytes);
}

}  // namespace

namespace cmbench::heap_counter {

bool available() noexcept {
  return true;
}

void start() noexcept {
  sums.bytes.store(0, std::memory_order_relaxed);
  sums.allocations.store(0, std::memory_order_relaxed);
  enabled.on.store(true, std::memory_order_seq_cst);
}

totals stop() noexcept {
  enabled.on.store(false, std::memory_order_seq_cst);
  return {sums.bytes.load(std::memory_order_relaxed),
          sums.allocations.load(std::memory_order_relaxed)};
}

}  // namespace cmbench::heap_counter

// Interposition of the malloc family. These definitions live in the executable (this object is
// linked whenever start() is used), so every shared library's malloc calls bind here; they forward
// to glibc's own entry points, so the allocator itself is unchanged and free() needs no wrapper.
// The linker exports them without -rdynamic because libc.so, which it links, defines them too.
extern "C" {
void* __libc_malloc(std::size_t) noexcept;
void* __libc_calloc(std::size_t, std::size_t) noexcept;
void* __libc_realloc(void*, std::size_t) noexcept;
void* __libc_memalign(std::size_t, std::size_t) noexcept;
void* __libc_valloc(std::size_t) noexcept;
void* __libc_pvalloc(std::size_t) noexcept;

void* malloc(std::size_t size) noexcept {
  void* p = __libc_malloc(size);
  note(p, size);
  return p;
}

void* calloc(std::size_t n, std::size_t size) noexcept {
  void* p = __libc_calloc(n, size);
  note(p, n * size);  // no overflow when p != nullptr: calloc checked it
  return p;
}

void* realloc(void* old, std::size_t size) noexcept {
  void* p = __libc_realloc(old, size);
  note(p, size);  // realloc(p, 0) frees and returns nullptr: not counted
  return p;
}

void* memalign(std::size_t alignment, std::size_t size) noexcept {
  void* p = __libc_memalign(alignment, size);
  note(p, size);
  return p;
}

// glibc 2.36 makes aligned_alloc an alias of memalign (same address in libc.so.6); so do we.
void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  return memalign(alignment, size);
}

int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0) {
    return EINVAL;
  }
  void* p = memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

void* valloc(std::size_t size) noexcept {
  void* p = __libc_valloc(size);
  note(p, size);
  return p;
}

void* pvalloc(std::size_t size) noexcept {
  void* p = __libc_pvalloc(size);
  note(p, size);
  return p;
}
}  // extern "C"

// oneTBB. libtbb.so.12 allocates its tasks, arenas and pools through scalable_aligned_malloc /
// scalable_malloc from libtbbmalloc.so.2, which never call malloc. Defining those scalable_*
// symbols in the executable does NOT work with oneTBB 2021.8: its dynamic_link() first tries
// dlopen("libtbbmalloc.so.2", RTLD_LAZY|RTLD_GLOBAL|RTLD_NOLOAD), then dlopen(<libtbb's
// dir>/libtbbmalloc.so.2, RTLD_NOW|RTLD_GLOBAL), and resolves all four with dlsym(<that handle>),
// which searches libtbbmalloc itself, never the executable (seen under gdb; exported wrappers got
// 0 calls). Its weak-symbol fallback is only used when libtbbmalloc cannot be loaded at all.
// What does work: libtbb reaches its allocator only through its own exported entry points
// r1::cache_aligned_allocate and r1::allocate_memory, and it calls them through its PLT
// (R_X86_64_JUMP_SLOT relocations in libtbb.so.12, also from r1::allocate, the small-object pool
// behind task_group). Defining them here interposes both libtbb's and the headers' calls; they
// count and forward to libtbb's definition (RTLD_NEXT), so TBB still uses tbbmalloc. The counts
// are what TBB asks of its allocator: tasks served from TBB's per-thread small-object pool cost
// nothing. As with malloc, the linker exports these because libtbb.so defines them too.
namespace tbb::detail::r1 {
void* cache_aligned_allocate(std::size_t size);
void* allocate_memory(std::size_t size);
}  // namespace tbb::detail::r1

namespace {

using tbb_allocate_fn = void* (*)(std::size_t);
std::atomic<tbb_allocate_fn> real_cache_aligned_allocate{nullptr};
std::atomic<tbb_allocate_fn> real_allocate_memory{nullptr};

void* forward_tbb(std::atomic<tbb_allocate_fn>& slot, const char* mangled, std::size_t size) {
  tbb_allocate_fn real = slot.load(std::memory_order_acquire);
  if (real == nullptr) {  // first call; racing threads all find the same address
    real = reinterpret_cast<tbb_allocate_fn>(::dlsym(RTLD_NEXT, mangled));
    if (real == nullptr) {
      std::fprintf(stderr, "heap_counter: %s not found after the executable\n", mangled);
      std::abort();
    }
    slot.store(real, std::memory_order_release);
  }
  struct restore {
    bool saved;
    ~restore() { inside_tbb = saved; }
  } r{inside_tbb};
  inside_tbb = true;
  void* p = real(size);  // throws std::bad_alloc on failure, like the original
  if (!r.saved && enabled.on.load(std::memory_order_relaxed)) add(size);
  return p;
}

}  // namespace

void* tbb::detail::r1::cache_aligned_allocate(std::size_t size) {
  return forward_tbb(real_cache_aligned_allocate, "_ZN3tbb6detail2r122cache_aligned_allocateEm",
                     size);
}

void* tbb::detail::r1::allocate_memory(std::size_t size) {
  return forward_tbb(real_allocate_memory, "_ZN3tbb6detail2r115allocate_memoryEm", size);
}

#endif  // CMBENCH_HEAP_COUNTER_OFF
