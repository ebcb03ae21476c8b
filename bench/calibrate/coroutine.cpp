// cmbench-ref-coroutine: the floor of a hand-off between two C++20 coroutines on one thread, with
// nothing of cmbench linked in; scripts/lib/calibrate.py sets it beside ring/coro/units:2 with
// handoff:same. Two coroutines pass control by symmetric transfer (await_suspend returns the
// other's handle, so the switch is a tail call with no scheduler and no queue) and count the hops.
#include <coroutine>
#include <exception>

#include "bench/calibrate/reference.hpp"

namespace {

using namespace cmbench::calibrate;

struct player {
  struct promise_type {
    player get_return_object() {
      return {std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    // Back to whoever resumed the first player: main.
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() { std::terminate(); }
  };
  std::coroutine_handle<promise_type> handle;
};

// co_await hand_to{h}: suspend this coroutine and resume h in its place.
struct hand_to {
  std::coroutine_handle<> next;
  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<>) const noexcept { return next; }
  void await_resume() const noexcept {}
};

struct table {
  std::uint64_t target = 0;
  std::uint64_t hops = 0;
  std::uint64_t by[2] = {0, 0};
  std::coroutine_handle<> players[2];
};

player play(table& t, int me) {
  for (;;) {
    if (t.hops == t.target) co_return;
    ++t.hops;
    ++t.by[me];
    co_await hand_to{t.players[1 - me]};
  }
}

table ping_pong(std::uint64_t hops) {
  table t;
  t.target = hops;
  player a = play(t, 0), b = play(t, 1);
  t.players[0] = a.handle;
  t.players[1] = b.handle;
  a.handle.resume();  // returns when the holder of the last hop finishes
  a.handle.destroy();
  b.handle.destroy();
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  const command_line cl(argc, argv, "cmbench-ref-coroutine", {{"repetitions", "3"}, {"hops", ""}});
  const std::uint64_t reps = cl.number("repetitions", 1, 1000);
  const std::uint64_t hops = cl.number("hops", 1, 10'000'000'000);
  const std::vector<double> seconds = timed_repetitions(
      reps, [&] { return ping_pong(hops); },
      [&](const table& t) {
        if (t.hops != hops || t.by[0] != (hops + 1) / 2 || t.by[1] != hops / 2)
          wrong_result("coroutine_symmetric",
                       std::to_string(t.hops) + " hops, expected " + std::to_string(hops));
      });
  print_hops(json_line("coroutine_symmetric"), hops, 1, seconds);
  return 0;
}
