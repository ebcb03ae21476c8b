// thread_budget: whether a cell may create a number of OS threads, and if not, why.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace cmbench::threads_model {

// Checks `needed` threads against the suite's cap (--max-threads) and the system's limits
// (RLIMIT_NPROC, kernel.threads-max, vm.max_map_count: each thread stack takes two mappings).
// Returns the reason a cell must be skipped, or nothing when it may run.
std::optional<std::string> thread_budget_refusal(std::uint64_t needed, std::uint64_t max_threads);

}  // namespace cmbench::threads_model
