#include "bench/harness/profile.hpp"

namespace cmbench {

namespace {
// Budgets: quick runs in well under a minute on 2 cores, smoke in seconds, full in minutes
// (scripts/bench runs each cell in its own process; the totals include start-up).
const std::vector<profile>& profiles() {
  static const std::vector<profile> all = {
      {"smoke", 0.01, 0.1, 60, {10, 1000}, 2, 1000, 20, {2, 10, 15}},
      {"quick", 0.5, 0.5, 120, {10, 1000, 10000}, 10, 10000, 30, {2, 10, 15, 20, 25}},
      {"full",
       1.0,
       5.0,
       600,
       {10, 1000, 10000, 100000},
       10,
       1000000,
       32,
       {2, 6, 10, 14, 18, 22, 26}},
  };
  return all;
}
}  // namespace

std::optional<profile> find_profile(const std::string& name) {
  for (const auto& p : profiles())
    if (p.name == name) return p;
  return std::nullopt;
}

std::vector<std::string> profile_names() {
  std::vector<std::string> names;
  for (const auto& p : profiles()) names.push_back(p.name);
  return names;
}

}  // namespace cmbench
