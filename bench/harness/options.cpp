#include "bench/harness/options.hpp"

#include <charconv>
#include <thread>

namespace cmbench {

namespace {

std::uint64_t parse_whole(const std::string& flag, const std::string& value, std::uint64_t lo,
                          std::uint64_t hi) {
  std::uint64_t v = 0;
  const char* end = value.data() + value.size();
  auto [p, ec] = std::from_chars(value.data(), end, v);
  if (value.empty() || ec != std::errc{} || p != end || v < lo || v > hi)
    throw usage_error(flag + "=" + value + ": expected a whole number from " + std::to_string(lo) +
                      " to " + std::to_string(hi));
  return v;
}

double parse_seconds(const std::string& flag, const std::string& value) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || !(v > 0 && v <= 86400))
    throw usage_error(flag + "=" + value + ": expected seconds, more than 0 and at most 86400");
  return v;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : "|") + x;
  return s;
}

}  // namespace

std::string usage_text() {
  return "usage: cmbench [--profile=" + join(profile_names()) +
         "] [--workers=N] [--max-threads=N]\n"
         "               [--cell-timeout=SECONDS] [--iterations=N] [--list[=json]]\n"
         "               [--benchmark_*...]\n"
         "  --profile       problem sizes and time budgets (default quick)\n"
         "  --workers       worker threads of every multi-worker model (default: hardware "
         "threads)\n"
         "  --max-threads   most OS threads one cell may create (default 10000)\n"
         "  --cell-timeout  a cell running longer is reported as hung, exit status 2\n"
         "  --iterations    exactly N timed runs per repetition instead of as many as the\n"
         "                  profile's minimum time takes (for instruction counts)\n"
         "  --list          the workload x model matrix and each cell's state\n"
         "  --benchmark_*   Google Benchmark's flags (filter, repetitions, out, format, ...)\n"
         "exit status: 0 all cells verified, 1 a cell failed its check, 2 bad usage or a hang\n";
}

options parse_options(int argc, char** argv) {
  options o;
  o.prof = *find_profile("quick");
  const unsigned hw = std::thread::hardware_concurrency();
  o.workers = hw == 0 ? 1 : hw;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto eq = arg.find('=');
    const std::string flag = arg.substr(0, eq);
    const bool has_value = eq != std::string::npos;
    const std::string value = has_value ? arg.substr(eq + 1) : "";
    auto need_value = [&] {
      if (!has_value) throw usage_error(flag + " needs a value: " + flag + "=...");
    };
    if (arg.rfind("--benchmark_", 0) == 0) {
      o.benchmark_args.push_back(arg);
    } else if (flag == "--workers") {
      need_value();
      o.workers = static_cast<unsigned>(parse_whole(flag, value, 1, 1024));
    } else if (flag == "--profile") {
      need_value();
      auto p = find_profile(value);
      if (!p)
        throw usage_error(arg + ": unknown profile; expected one of " + join(profile_names()));
      o.prof = *p;
    } else if (flag == "--max-threads") {
      need_value();
      o.max_threads = parse_whole(flag, value, 1, 10'000'000);
    } else if (flag == "--cell-timeout") {
      need_value();
      o.cell_timeout_s = parse_seconds(flag, value);
    } else if (flag == "--iterations") {
      need_value();
      o.iterations = parse_whole(flag, value, 1, 1'000'000);
    } else if (flag == "--list") {
      if (!has_value)
        o.list = options::list_mode::text;
      else if (value == "json")
        o.list = options::list_mode::json;
      else
        throw usage_error(arg + ": expected --list or --list=json");
    } else if (arg == "--help" || arg == "-h") {
      o.help = true;
    } else {
      throw usage_error("unknown flag " + arg);
    }
  }
  return o;
}

}  // namespace cmbench
