// cmbench-ref-threads: the floor of a hand-off between two OS threads, with nothing of cmbench
// linked in; scripts/lib/calibrate.py sets it beside the ring/threads cells with 2 units. Two
// threads pass a token back and forth through one 32-bit futex word each, the least a blocking
// hand-off can do: the receiver spins on its word for a while (pause loop, about 200 us), then
// marks it parked and sleeps in FUTEX_WAIT; the sender stores the token and calls FUTEX_WAKE only
// when the receiver had parked. No atomic-wait waiter table, no mutex, no condition variable.
//
// --placement=cross pins the threads to two different CPUs of the process's affinity mask (the
// receiver is usually still spinning: the hop is a cache line crossing cores); --placement=same
// pins both to one CPU and does not spin (spinning there only burns the holder's time slice), so
// every hop is a FUTEX_WAKE plus the scheduler switching threads.
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <latch>
#include <thread>

#include "bench/calibrate/reference.hpp"

namespace {

using namespace cmbench::calibrate;

enum : std::uint32_t { empty = 0, holds_token = 1, parked = 2 };

// The hop count travels with the token, on the word's cache line: a hop moves one line between
// the cores, no shared counter besides.
struct alignas(64) mailbox {
  std::atomic<std::uint32_t> word{empty};
  std::uint64_t hops = 0;
};

void futex(std::atomic<std::uint32_t>& word, int op, std::uint32_t value) {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), op | FUTEX_PRIVATE_FLAG, value,
          nullptr, nullptr, 0);
}

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Waits until the word holds the token, then empties it.
void receive(mailbox& box, std::chrono::nanoseconds spin) {
  if (spin.count() > 0) {
    const auto until = std::chrono::steady_clock::now() + spin;
    for (unsigned i = 0;; ++i) {
      if (box.word.load(std::memory_order_acquire) == holds_token) {
        box.word.store(empty, std::memory_order_relaxed);
        return;
      }
      cpu_relax();
      // Reading the clock costs more than a pause: every 64 rounds is often enough.
      if (i % 64 == 63 && std::chrono::steady_clock::now() > until) break;
    }
  }
  for (;;) {
    std::uint32_t seen = empty;
    if (box.word.compare_exchange_strong(seen, parked, std::memory_order_acquire)) seen = parked;
    if (seen == holds_token) {
      box.word.store(empty, std::memory_order_relaxed);
      return;
    }
    futex(box.word, FUTEX_WAIT, parked);  // returns at once if the token came meanwhile
  }
}

void send(mailbox& box, std::uint64_t hops) {
  box.hops = hops;
  if (box.word.exchange(holds_token, std::memory_order_release) == parked)
    futex(box.word, FUTEX_WAKE, 1);
}

void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

struct outcome {
  std::uint64_t hops = 0;
  std::uint64_t by[2] = {0, 0};
};

// One run: two pinned threads, started and waiting before the clock; `hops` hand-offs timed.
outcome ping_pong(std::uint64_t hops, int cpu0, int cpu1, std::chrono::nanoseconds spin,
                  double& seconds) {
  mailbox boxes[2];
  outcome out;
  std::latch started(3);
  std::chrono::steady_clock::time_point t0, t1;
  const auto player = [&](int me, int cpu) {
    pin(cpu);
    std::uint64_t mine = 0;  // hops this player made
    started.arrive_and_wait();
    if (me == 0) {
      t0 = std::chrono::steady_clock::now();
      send(boxes[0], 0);  // the token starts at player 0
    }
    for (;;) {
      receive(boxes[me], spin);
      const std::uint64_t made = boxes[me].hops;
      if (made == hops) {  // the last hop was made: hand the token on so the other stops too
        if (t1 == std::chrono::steady_clock::time_point{}) {
          t1 = std::chrono::steady_clock::now();
          out.hops = made;
        }
        out.by[me] = mine;
        send(boxes[1 - me], made);
        return;
      }
      ++mine;
      send(boxes[1 - me], made + 1);
    }
  };
  std::thread a(player, 0, cpu0), b(player, 1, cpu1);
  started.arrive_and_wait();
  a.join();
  b.join();
  seconds = std::chrono::duration<double>(t1 - t0).count();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const command_line cl(argc, argv, "cmbench-ref-threads",
                        {{"repetitions", "3"}, {"hops", ""}, {"placement", "cross"}});
  const std::uint64_t reps = cl.number("repetitions", 1, 1000);
  const std::uint64_t hops = cl.number("hops", 1, 1'000'000'000);
  const std::string placement = cl.word("placement", {"cross", "same"});

  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(0, sizeof mask, &mask) != 0) cl.fail("cannot read the CPU affinity mask");
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &mask)) cpus.push_back(c);
  if (placement == "cross" && cpus.size() < 2)
    cl.fail("--placement=cross needs two CPUs in the affinity mask, this process has 1");
  const int cpu0 = cpus[0];
  const int cpu1 = placement == "cross" ? cpus[1] : cpus[0];
  const std::chrono::nanoseconds spin =
      placement == "cross" ? std::chrono::microseconds(200) : std::chrono::nanoseconds(0);

  // The timer is inside ping_pong (from the first send to the last hop), so thread creation stays
  // out; timed_repetitions's own clock, around the whole run, only decides whether a run is long.
  std::vector<double> seconds;
  double run_s = 0;
  const auto check = [&](const outcome& r) {
    if (r.hops != hops || r.by[0] != (hops + 1) / 2 || r.by[1] != hops / 2)
      wrong_result("futex_pingpong", std::to_string(r.hops) + " hops (" + std::to_string(r.by[0]) +
                                         " + " + std::to_string(r.by[1]) + "), expected " +
                                         std::to_string(hops));
  };
  const std::vector<double> timed = timed_repetitions(
      reps, [&] { return ping_pong(hops, cpu0, cpu1, spin, run_s); },
      [&](const outcome& r) {
        check(r);
        seconds.push_back(run_s);
      });
  // The warm-up's, unless it was the measurement (a long run, see timed_repetitions).
  seconds.erase(seconds.begin(), seconds.end() - static_cast<std::ptrdiff_t>(timed.size()));

  print_hops(json_line("futex_pingpong").text("placement", placement), hops,
             placement == "cross" ? 2 : 1, seconds);
  return 0;
}
