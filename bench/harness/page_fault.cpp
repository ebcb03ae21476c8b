#include "bench/harness/page_fault.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>

namespace cmbench {

std::optional<double> page_fault_ns() {
  // 8 batches of 32 pages: 256 faults, about 5 ms where a fault costs 20 us.
  constexpr std::size_t batches = 8, pages_per_batch = 32;
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t bytes = batches * pages_per_batch * page;
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return std::nullopt;
  ::madvise(p, bytes, MADV_NOHUGEPAGE);
  auto* base = static_cast<volatile char*>(p);
  std::array<double, batches> ns{};
  for (std::size_t b = 0; b < batches; ++b) {
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < pages_per_batch; ++i) base[(b * pages_per_batch + i) * page] = 1;
    const auto t1 = std::chrono::steady_clock::now();
    ns[b] = std::chrono::duration<double, std::nano>(t1 - t0).count() / pages_per_batch;
  }
  ::munmap(p, bytes);
  std::nth_element(ns.begin(), ns.begin() + batches / 2, ns.end());
  return ns[batches / 2];
}

}  // namespace cmbench
