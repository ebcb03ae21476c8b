// options: cmbench's own flags (everything but --benchmark_*), parsed and checked.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/harness/profile.hpp"

namespace cmbench {

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct options {
  unsigned workers = 0;  // 0 until parsed: the hardware thread count
  profile prof;
  std::uint64_t max_threads = 10000;
  std::optional<double> cell_timeout_s;  // overrides the profile's
  std::optional<std::uint64_t> iterations;  // a fixed count of timed runs per repetition
  enum class list_mode { none, text, json } list = list_mode::none;
  bool help = false;
  std::vector<std::string> benchmark_args;  // --benchmark_* flags, passed on to Google Benchmark
};

// Throws usage_error with a message naming the offending flag.
options parse_options(int argc, char** argv);
std::string usage_text();

}  // namespace cmbench
