// Current resident set size of this process, cheap enough to sample thousands of times a second.
#pragma once

#include <cstdint>

namespace cmbench {

// Resident set size in bytes: /proc/self/statm field 2 (resident pages) times the page size.
// Thread-safe. Throws std::runtime_error if /proc/self/statm cannot be opened, read or parsed.
std::uint64_t resident_bytes();

// Both sizes from one read of /proc/self/statm: the address space mapped (field 1) and the part
// of it resident (field 2). Their difference is what is reserved but never touched.
struct memory_usage {
  std::uint64_t virtual_bytes;
  std::uint64_t resident_bytes;
};
memory_usage memory_now();

}  // namespace cmbench
