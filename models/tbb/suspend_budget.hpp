// suspend_budget: whether oneTBB can hold a number of suspended tasks at once, and if not, why.
#pragma once

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>

namespace cmbench::tbb_model {

// Each task suspended with tbb::task::suspend keeps its own coroutine stack, an mmap'ed region
// with a guard page: two memory mappings. oneTBB 2021.8 does not check for a failed mmap there;
// past vm.max_map_count it crashes in makecontext (seen here at 100000 suspended waits with the
// default limit of 65530). A cell that may suspend `tasks` tasks at once is skipped instead.
inline std::optional<std::string> suspend_budget_refusal(std::uint64_t tasks) {
  std::ifstream in("/proc/sys/vm/max_map_count");
  std::uint64_t maps = 0;
  if (!(in >> maps)) return std::nullopt;
  const std::uint64_t needed = 2 * tasks + 1000;  // + the process's own mappings
  if (needed <= maps) return std::nullopt;
  return "up to " + std::to_string(tasks) +
         " suspended tasks, each with its own stack (two mappings), need about " +
         std::to_string(needed) + " mappings, above vm.max_map_count=" + std::to_string(maps) +
         " (oneTBB crashes past it; raise it with sysctl to run this cell)";
}

}  // namespace cmbench::tbb_model
