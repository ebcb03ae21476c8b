// Current resident set size of this process, cheap enough to sample thousands of times a second.
#pragma once

#include <cstdint>

namespace cmbench {

// Resident set size in bytes: /proc/self/statm field 2 (resident pages) times the page size.
// Thread-safe. Throws std::runtime_error if /proc/self/statm cannot be opened, read or parsed.
std::uint64_t resident_bytes();

}  // namespace cmbench
