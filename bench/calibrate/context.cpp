// cmbench-ref-context: the floor under Boost.Fiber, a bare Boost.Context switch, with nothing of
// cmbench linked in; scripts/lib/calibrate.py sets it beside ring/fibers/units:2 with
// handoff:same. The main context resumes a boost::context::fiber that resumes straight back: a
// round trip is two switches, and a hop is one switch. No scheduler, no ready queue, no channel,
// which is what Boost.Fiber adds on top (and why that row stands far above 1).
#include <boost/context/fiber.hpp>

#include "bench/calibrate/reference.hpp"

namespace {

using namespace cmbench::calibrate;

namespace ctx = boost::context;

// A fiber whose every switch counts one hop; built outside the timing, first entered by the
// warm-up.
class switcher {
 public:
  switcher()
      : fiber_([this](ctx::fiber&& back) {
          for (;;) {
            ++switches_;  // main -> fiber
            back = std::move(back).resume();
          }
          return std::move(back);
        }) {}

  // `round_trips` resumes, each counting its way back too; returns the switches made.
  std::uint64_t run(std::uint64_t round_trips) {
    switches_ = 0;
    for (std::uint64_t i = 0; i < round_trips; ++i) {
      fiber_ = std::move(fiber_).resume();
      ++switches_;  // fiber -> main
    }
    return switches_;
  }

 private:
  std::uint64_t switches_ = 0;
  ctx::fiber fiber_;
};

}  // namespace

int main(int argc, char** argv) {
  const command_line cl(argc, argv, "cmbench-ref-context", {{"repetitions", "3"}, {"hops", ""}});
  const std::uint64_t reps = cl.number("repetitions", 1, 1000);
  const std::uint64_t hops = cl.number("hops", 2, 10'000'000'000);
  if (hops % 2) cl.fail("--hops must be even: a round trip is two switches");
  switcher s;
  const std::vector<double> seconds = timed_repetitions(
      reps, [&] { return s.run(hops / 2); },
      [&](std::uint64_t made) {
        if (made != hops)
          wrong_result("context_switch",
                       std::to_string(made) + " switches, expected " + std::to_string(hops));
      });
  print_hops(json_line("context_switch"), hops, 1, seconds);
  return 0;
}
