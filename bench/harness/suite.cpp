#include "bench/harness/suite.hpp"

#include "bench/fib/spec.hpp"
#include "bench/spawn/spec.hpp"
#include "bench/wait/spec.hpp"

namespace cmbench {

std::vector<cell> all_cells(const cell_env& env) {
  std::vector<cell> out = wait::cells(env);
  for (cell& c : spawn::cells(env)) out.push_back(std::move(c));
  for (cell& c : fib::cells(env)) out.push_back(std::move(c));
  return out;
}

}  // namespace cmbench
