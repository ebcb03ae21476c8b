// client_report: what the echo client process hands back, in memory shared with cmbench.
#pragma once

#include <cstddef>
#include <cstdint>

#include "bench/echo/protocol.hpp"

namespace cmbench::echo {

struct client_report {
  // The descriptors cmbench-echo-client is started with (besides 0, the go pipe).
  static constexpr int results_fd = 3;
  static constexpr int status_fd = 4;

  std::uint64_t verified = 0;  // requests whose reply matched
  char error[1024] = {};       // the first error, NUL-terminated; empty if none
  // With faults: the garbage peer got its bytes back; the stalled peer's connection was ended by
  // the server this long after its echo came back, and after it sent its half request (-1: it
  // was not).
  std::uint64_t garbage_echoed = 0;
  std::int64_t stall_ended_after_ns = -1;
  std::int64_t stall_since_sent_ns = -1;
  // Followed by connections * requests latencies in nanoseconds (-1: not measured).
  std::int64_t* latency_ns() noexcept { return reinterpret_cast<std::int64_t*>(this + 1); }

  static std::size_t bytes_for(const spec& s) noexcept {
    return sizeof(client_report) + s.connections * s.requests * sizeof(std::int64_t);
  }
};
static_assert(sizeof(client_report) % alignof(std::int64_t) == 0);

}  // namespace cmbench::echo
