// Process-wide count of heap bytes and allocations requested between start() and stop().
#pragma once

#include <cstdint>

// Counts every malloc-family call in the process (operator new included, since libstdc++'s
// operator new calls malloc) plus oneTBB's own allocations, which bypass malloc. See
// heap_counter.cpp for how; an executable that links oneTBB needs no extra link flag.
// Compiled out under AddressSanitizer (and TSan/MSan), whose malloc interceptors it would fight:
// then available() is false and stop() returns zeros.
namespace cmbench::heap_counter {

struct totals {
  std::uint64_t bytes;        // bytes requested (realloc counts its new size)
  std::uint64_t allocations;  // successful allocation calls
};

bool available() noexcept;
// Resets the totals and enables counting on all threads. Allocations racing with start()/stop()
// on other threads may or may not be counted; threads started after start() and joined before
// stop() are counted exactly.
void start() noexcept;
// Disables counting and returns the totals since start(); calling it again returns them again.
totals stop() noexcept;

}  // namespace cmbench::heap_counter
