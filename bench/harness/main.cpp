// cmbench: registers every cell with Google Benchmark, runs the selected ones, and exits non-zero
// when a cell fails its check (1) or on bad usage or a hang (2).
#include <benchmark/benchmark.h>
#include <oneapi/tbb/version.h>

#include <boost/version.hpp>
#include <cstdio>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "bench/harness/instructions.hpp"
#include "bench/harness/measure.hpp"
#include "bench/harness/options.hpp"
#include "bench/harness/page_fault.hpp"
#include "bench/harness/suite.hpp"
#include "bench/harness/watchdog.hpp"

namespace {

using namespace cmbench;

std::string json_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", ch);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out;
}

void print_list(const std::vector<cell>& cells, const options& o, bool json) {
  if (json) {
    std::printf(
        "{\"profile\": \"%s\", \"workers\": %u, \"max_threads\": %llu, "
        "\"callgrind_markers\": %s, \"cells\": [",
        o.prof.name.c_str(), o.workers, static_cast<unsigned long long>(o.max_threads),
        callgrind_markers ? "true" : "false");
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const cell& c = cells[i];
      std::printf("%s\n  {\"name\": \"%s\", \"workload\": \"%s\", \"model\": \"%s\", \"params\": {",
                  i ? "," : "", json_escape(c.name()).c_str(), c.workload.c_str(), c.model.c_str());
      for (std::size_t k = 0; k < c.params.size(); ++k) {
        const param_value& v = c.params[k].second;
        const char* quote = v.is_number() ? "" : "\"";
        std::printf("%s\"%s\": %s%s%s", k ? ", " : "", c.params[k].first.c_str(), quote,
                    json_escape(v.text()).c_str(), quote);
      }
      std::printf("}");
      if (c.busy_cores) std::printf(", \"busy_cores\": %g", *c.busy_cores);
      if (c.skip_reason)
        std::printf(", \"state\": \"skipped\", \"reason\": \"%s\"}",
                    json_escape(*c.skip_reason).c_str());
      else
        std::printf(", \"state\": \"available\"}");
    }
    std::printf("\n]}\n");
    return;
  }
  std::size_t width = 4;
  for (const cell& c : cells) width = std::max(width, c.name().size());
  std::printf("profile %s, %u workers, --max-threads=%llu\n%-*s  state\n", o.prof.name.c_str(),
              o.workers, static_cast<unsigned long long>(o.max_threads), static_cast<int>(width),
              "cell");
  for (const cell& c : cells)
    std::printf("%-*s  %s\n", static_cast<int>(width), c.name().c_str(),
                c.skip_reason ? ("skipped: " + *c.skip_reason).c_str() : "available");
}

// Google Benchmark's filter: a regular expression, or its negation with a leading '-'.
bool filter_matches(const std::string& filter, const std::string& name) {
  if (filter.empty() || filter == "all" || filter == ".") return true;
  const bool negate = filter[0] == '-';
  const std::regex re(negate ? filter.substr(1) : filter, std::regex::extended);
  return std::regex_search(name, re) != negate;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

void add_context(const options& o) {
  benchmark::AddCustomContext("cmbench_profile", o.prof.name);
  benchmark::AddCustomContext("cmbench_workers", std::to_string(o.workers));
  benchmark::AddCustomContext("cmbench_max_threads", std::to_string(o.max_threads));
  benchmark::AddCustomContext("compiler", CMBENCH_COMPILER);
  benchmark::AddCustomContext("compiler_flags", CMBENCH_CXX_FLAGS);
  benchmark::AddCustomContext("build_type", CMBENCH_BUILD_TYPE);
  benchmark::AddCustomContext("tbb_version", TBB_runtime_version());
  benchmark::AddCustomContext("boost_version", BOOST_LIB_VERSION);
  benchmark::AddCustomContext("cpu_model", cpu_model());
  if (const auto ns = page_fault_ns()) {
    char text[32];
    std::snprintf(text, sizeof text, "%.0f", *ns);
    benchmark::AddCustomContext("page_fault_ns", text);
  }
  if (o.iterations)
    benchmark::AddCustomContext("cmbench_iterations", std::to_string(*o.iterations));
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  try {
    o = parse_options(argc, argv);
  } catch (const usage_error& e) {
    std::fprintf(stderr, "cmbench: %s\n%s", e.what(), usage_text().c_str());
    return 2;
  }
  if (o.help) {
    std::printf("%s", usage_text().c_str());
    return 0;
  }

  // The profile's minimum time goes first so that a --benchmark_min_time given by the user wins.
  std::vector<std::string> gb_args = {argv[0],
                                      "--benchmark_min_time=" + std::to_string(o.prof.min_time_s)};
  std::string out_file;
  for (const auto& a : o.benchmark_args) {
    gb_args.push_back(a);
    if (a.rfind("--benchmark_out=", 0) == 0) out_file = a.substr(16);
  }
  std::vector<char*> gb_argv;
  for (auto& a : gb_args) gb_argv.push_back(a.data());
  int gb_argc = static_cast<int>(gb_argv.size());
  benchmark::Initialize(&gb_argc, gb_argv.data());
  if (gb_argc > 1) {
    std::fprintf(stderr, "cmbench: unknown or malformed flag %s\n%s", gb_argv[1],
                 usage_text().c_str());
    return 2;
  }

  const cell_env env{o.workers, o.max_threads, o.prof};
  std::vector<cell> cells;
  try {
    cells = all_cells(env);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cmbench: %s\n", e.what());
    return 2;
  }
  if (o.list != options::list_mode::none) {
    print_list(cells, o, o.list == options::list_mode::json);
    return 0;
  }

  std::string filter = benchmark::GetBenchmarkFilter();
  std::size_t skipped = 0;
  try {
    for (const cell& c : cells) {
      if (!c.skip_reason || !filter_matches(filter, c.name())) continue;
      ++skipped;
      std::fprintf(stderr, "cmbench: skipped %s: %s\n", c.name().c_str(), c.skip_reason->c_str());
      benchmark::AddCustomContext("skipped " + c.name(), *c.skip_reason);
    }
  } catch (const std::regex_error& e) {
    std::fprintf(stderr, "cmbench: --benchmark_filter=%s is not a valid regular expression\n",
                 filter.c_str());
    return 2;
  }
  add_context(o);

  watchdog dog(out_file);
  const double timeout = o.cell_timeout_s.value_or(o.prof.cell_timeout_s);
  for (const cell& c : cells) {
    if (c.skip_reason) continue;
    benchmark::internal::Benchmark* b =
        benchmark::RegisterBenchmark(
            c.name().c_str(),
            [&dog, timeout, name = c.name(), body = c.body](benchmark::State& state) {
              dog.arm(name, timeout);
              try {
                body(state);
              } catch (const std::exception& e) {
                fail_cell(state, e.what());
              }
              dog.disarm();
            })
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
    if (o.iterations) b->Iterations(static_cast<benchmark::IterationCount>(*o.iterations));
  }

  const std::size_t ran = benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (ran == 0 && skipped == 0) {
    std::fprintf(stderr, "cmbench: no cell matches --benchmark_filter=%s (see cmbench --list)\n",
                 filter.c_str());
    return 2;
  }
  if (failed_cells() > 0) {
    std::fprintf(stderr, "cmbench: %d cell(s) failed their check\n", failed_cells());
    return 1;
  }
  return 0;
}
