// suite: every cell of every workload, for one environment.
#pragma once

#include <vector>

#include "bench/harness/cell.hpp"

namespace cmbench {

// The catalogue, in report order. Each workload lists its cells explicitly in its own folder.
std::vector<cell> all_cells(const cell_env& env);

}  // namespace cmbench
