// The reference programs' command line, timing and output, from the standard library alone: a
// reference must not share code with the cells it calibrates.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cmbench::calibrate {

// --name=value flags, each of them known in advance. A flag that is unknown, malformed, repeated
// or out of range ends the program with exit status 2 and a message naming it.
class command_line {
 public:
  // `known`: every flag the program takes, with its default ("" = it has none).
  command_line(int argc, char** argv, std::string program,
               std::vector<std::pair<std::string, std::string>> known)
      : program_(std::move(program)) {
    std::string usage = "usage: " + program_;
    for (const auto& [name, fallback] : known) {
      defaults_[name] = fallback;
      usage += " [--" + name + "=" + (fallback.empty() ? "N" : fallback) + "]";
    }
    usage_ = usage;
    for (int i = 1; i < argc; ++i) {
      const std::string_view arg = argv[i];
      const std::size_t eq = arg.find('=');
      if (!arg.starts_with("--") || eq == std::string_view::npos)
        fail("expected --flag=value, got '" + std::string(arg) + "'");
      const std::string name(arg.substr(2, eq - 2));
      if (!defaults_.contains(name)) fail("unknown flag --" + name);
      if (given_.contains(name)) fail("--" + name + " given twice");
      given_[name] = std::string(arg.substr(eq + 1));
    }
  }

  bool given(const std::string& name) const { return given_.contains(name); }

  std::string word(const std::string& name, const std::vector<std::string>& allowed) const {
    const std::string v = raw(name);
    for (const std::string& a : allowed)
      if (v == a) return v;
    fail("--" + name + "=" + v + ": not one of the allowed values");
  }

  std::uint64_t number(const std::string& name, std::uint64_t lo, std::uint64_t hi) const {
    const std::string v = raw(name);
    char* end = nullptr;
    const unsigned long long parsed = v.empty() ? 0 : std::strtoull(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || v[0] == '-' || parsed < lo || parsed > hi)
      fail("--" + name + "=" + v + ": expected a whole number from " + std::to_string(lo) + " to " +
           std::to_string(hi));
    return parsed;
  }

  [[noreturn]] void fail(const std::string& message) const {
    std::fprintf(stderr, "%s: %s\n%s\n", program_.c_str(), message.c_str(), usage_.c_str());
    std::exit(2);
  }

 private:
  std::string raw(const std::string& name) const {
    const auto g = given_.find(name);
    if (g != given_.end()) return g->second;
    const std::string& fallback = defaults_.at(name);
    if (fallback.empty()) fail("--" + name + " is required");
    return fallback;
  }

  std::string program_;
  std::string usage_;
  std::map<std::string, std::string> defaults_;
  std::map<std::string, std::string> given_;
};

// A wrong answer: the measurement is worthless, so say what was wrong and exit 1.
[[noreturn]] inline void wrong_result(const std::string& reference, const std::string& what) {
  std::fprintf(stderr, "%s: wrong result: %s\n", reference.c_str(), what.c_str());
  std::exit(1);
}

// A run at least this long is measured once: see timed_repetitions.
constexpr double long_run_s = 1.0;

// Runs `work` once untimed (first-touch of stacks and pools, lazy runtime start), then
// `repetitions` times timed; `check` sees every result, the warm-up's too. Returns the seconds of
// each timed repetition.
// A warm-up of long_run_s or more is timed and is the only repetition: at that length first-touch
// and start-up are a small part of it, and repeating would cost minutes (the full profile's
// 1M-leaf skynet on one Boost.Fiber worker takes about 40 s a run). One value where `repetitions`
// were asked tells scripts/lib/calibrate.py to measure the pair in one round.
template <class Work, class Check>
std::vector<double> timed_repetitions(std::uint64_t repetitions, Work&& work, Check&& check) {
  const auto time = [&] {
    const auto t0 = std::chrono::steady_clock::now();
    auto result = work();
    const auto t1 = std::chrono::steady_clock::now();
    check(result);
    return std::chrono::duration<double>(t1 - t0).count();
  };
  const double warm_up = time();
  if (warm_up >= long_run_s) return {warm_up};
  std::vector<double> seconds;
  for (std::uint64_t r = 0; r < repetitions; ++r) seconds.push_back(time());
  return seconds;
}

// One measurement as one line of JSON, fields in the order they are added.
class json_line {
 public:
  explicit json_line(const std::string& reference) { text("reference", reference); }
  json_line& text(const std::string& key, const std::string& value) {
    return raw(key, "\"" + value + "\"");
  }
  json_line& number(const std::string& key, std::uint64_t value) {
    return raw(key, std::to_string(value));
  }
  json_line& flag(const std::string& key, bool value) { return raw(key, value ? "true" : "false"); }
  json_line& numbers(const std::string& key, const std::vector<double>& values) {
    std::string list = "[";
    for (std::size_t i = 0; i < values.size(); ++i) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%s%.9g", i ? ", " : "", values[i]);
      list += buf;
    }
    return raw(key, list + "]");
  }
  void print() const {
    std::printf("{%s}\n", body_.c_str());
    std::fflush(stdout);
  }

 private:
  json_line& raw(const std::string& key, const std::string& value) {
    body_ += (body_.empty() ? "\"" : ", \"") + key + "\": " + value;
    return *this;
  }
  std::string body_;
};

// Nanoseconds per hop of each repetition.
inline std::vector<double> per_hop_ns(const std::vector<double>& seconds, std::uint64_t hops) {
  std::vector<double> out;
  for (double s : seconds) out.push_back(s * 1e9 / static_cast<double>(hops));
  return out;
}

// Prints a hand-off reference's measurement: two units passing `hops` hops, which is its result.
inline void print_hops(json_line line, std::uint64_t hops, std::uint64_t workers,
                       const std::vector<double>& seconds) {
  line.number("hops", hops)
      .number("workers", workers)
      .numbers("seconds", seconds)
      .numbers("ns_per_hop", per_hop_ns(seconds, hops))
      .number("units", 2)
      .number("result", hops)
      .print();
}

// skynet's tree (bench/spawn/spec.hpp): every inner node has `fanout` children, leaf i returns i.
inline constexpr std::uint64_t skynet_fanout = 10;
struct skynet_tree {
  std::uint64_t leaves;
  std::uint64_t sum;    // of the leaves' values: the root's result
  std::uint64_t nodes;  // the units
};

// The tree of --leaves, which must be a power of the fanout.
inline skynet_tree skynet_from(const command_line& cl) {
  const std::uint64_t leaves = cl.number("leaves", 1, 100'000'000);
  std::uint64_t power = 1;
  while (power < leaves) power *= skynet_fanout;
  if (power != leaves) cl.fail("--leaves must be a power of 10");
  return {leaves, leaves * (leaves - 1) / 2, (skynet_fanout * leaves - 1) / (skynet_fanout - 1)};
}

}  // namespace cmbench::calibrate
