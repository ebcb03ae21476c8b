#include "models/threads/thread_budget.hpp"

#include <sys/resource.h>

#include <fstream>

namespace cmbench::threads_model {

namespace {
std::optional<std::uint64_t> read_proc_number(const char* path) {
  std::ifstream in(path);
  std::uint64_t v = 0;
  if (in >> v) return v;
  return std::nullopt;
}
}  // namespace

std::optional<std::string> thread_budget_refusal(std::uint64_t needed, std::uint64_t max_threads) {
  const std::string n = std::to_string(needed);
  if (needed > max_threads)
    return "needs " + n + " OS threads, above --max-threads=" + std::to_string(max_threads);
  rlimit rl{};
  if (getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && needed > rl.rlim_cur)
    return "needs " + n + " OS threads, above RLIMIT_NPROC=" + std::to_string(rl.rlim_cur);
  if (auto tmax = read_proc_number("/proc/sys/kernel/threads-max"); tmax && needed > *tmax)
    return "needs " + n + " OS threads, above kernel.threads-max=" + std::to_string(*tmax);
  if (auto maps = read_proc_number("/proc/sys/vm/max_map_count"); maps && 2 * needed > *maps)
    return "needs " + n +
           " OS threads (two mappings each), above vm.max_map_count=" + std::to_string(*maps);
  return std::nullopt;
}

}  // namespace cmbench::threads_model
