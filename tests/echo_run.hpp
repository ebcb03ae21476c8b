// echo_run: one run of an echo model as the cell does it (listener, idle reaper, client, serve,
// check), for the echo tests and the coroutine stress test.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "bench/echo/socket.hpp"
#include "bench/echo/spec.hpp"

namespace cmbench::echo {

struct outcome {
  check_result checked;
  std::uint64_t errors = 0, timed_out = 0;
  std::int64_t stall_ended_after_ns = -1;
  std::int64_t stall_since_sent_ns = -1;
  latency_histogram lat;
  std::vector<std::int64_t> latency_ns;
  double wall_s = 0;
};

// One run, as the cell does it: listener, reaper, client, serve, check.
inline outcome run_once(model& m, const spec& s) {
  outcome o;
  const std::uint64_t before = open_descriptors();
  server_stats stats;
  run_result r;
  {
    spec served = s;
    served.connections = served_connections(s);
    idle_reaper reaper(served.connections, std::chrono::milliseconds(s.idle_timeout_ms));
    listener l(served.connections);
    client c(s, l.port());
    memory_probe probe;
    const auto t0 = clock::now();
    c.start();
    m.serve(l.fd(), served, stats, probe, reaper);
    c.wait();
    o.wall_s = std::chrono::duration<double>(clock::now() - t0).count();
    r.verified = c.verified();
    r.client_error = c.error();
    r.garbage_echoed = c.garbage_echoed();
    r.stall_ended_after_ns = o.stall_ended_after_ns = c.stall_ended_after_ns();
    r.stall_since_sent_ns = o.stall_since_sent_ns = c.stall_since_sent_ns();
    o.latency_ns.assign(c.latency_ns().begin(), c.latency_ns().end());
  }
  r.latency_ns = o.latency_ns;
  r.descriptors_before = before;
  r.descriptors_after = open_descriptors();
  o.checked = check(s, stats, r, o.lat);
  o.errors = stats.errors.load();
  o.timed_out = stats.timed_out.load();
  return o;
}

}  // namespace cmbench::echo
