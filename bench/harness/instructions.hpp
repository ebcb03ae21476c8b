// instructions: marks each timed run's measured region (execute()) for valgrind's callgrind, so
// that scripts/bench --instructions counts the instructions of that region alone, on every thread.
// CALLGRIND_ZERO_STATS at the start and CALLGRIND_DUMP_STATS_AT at the end write one profile per
// timed run; run natively, each is a handful of instructions that do nothing.
#pragma once

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define CMBENCH_CALLGRIND_MARKERS 1
#else
#define CMBENCH_CALLGRIND_MARKERS 0
#endif

namespace cmbench {

inline constexpr bool callgrind_markers = CMBENCH_CALLGRIND_MARKERS != 0;

// The dump's trigger names it, so that scripts/bench tells these dumps from the one at exit.
#define CMBENCH_MEASURED_REGION "cmbench measured region"

inline void measured_region_begin() noexcept {
#if CMBENCH_CALLGRIND_MARKERS
  CALLGRIND_ZERO_STATS;
#endif
}

inline void measured_region_end() noexcept {
#if CMBENCH_CALLGRIND_MARKERS
  CALLGRIND_DUMP_STATS_AT(CMBENCH_MEASURED_REGION);
#endif
}

}  // namespace cmbench
