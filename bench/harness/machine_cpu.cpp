#include "bench/harness/machine_cpu.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

namespace cmbench {

std::optional<double> machine_busy_seconds() {
  std::ifstream in("/proc/stat");
  std::string line;
  if (!std::getline(in, line) || line.rfind("cpu ", 0) != 0) return std::nullopt;
  std::istringstream fields(line.substr(4));
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                     steal = 0;
  if (!(fields >> user >> nice >> system >> idle >> iowait >> irq >> softirq)) return std::nullopt;
  fields >> steal;  // absent on kernels before 2.6.11: no steal then
  const long ticks_per_s = ::sysconf(_SC_CLK_TCK);
  if (ticks_per_s <= 0) return std::nullopt;
  const unsigned long long busy = user + nice + system + irq + softirq + steal;
  return static_cast<double>(busy) / static_cast<double>(ticks_per_s);
}

std::optional<double> others_cores(double machine_busy_s, double own_cpu_s, double wall_s) {
  if (wall_s < min_others_span_s) return std::nullopt;
  return std::max(0.0, (machine_busy_s - own_cpu_s) / wall_s);
}

}  // namespace cmbench
