// The echo workload's problem and wire format, shared by the servers and the client process:
// what a run asks for (spec) and the bytes of every request (payload_byte). See spec.hpp.
#pragma once

#include <chrono>
#include <cstdint>

namespace cmbench::echo {

using clock = std::chrono::steady_clock;

struct spec {
  std::uint64_t connections;
  std::uint64_t requests;  // per connection
  std::uint64_t bytes;     // per request
  std::uint64_t rate = 0;  // requests per second over all connections; 0: closed loop
  // 1: the client also runs the fault peers (fault_peers below), which the server serves too.
  std::uint64_t faults = 0;
  // The server's idle timeout (idle_reaper, socket.hpp): in a cell without faults a safety net
  // that never fires; with them, how long the stalled peer holds its connection.
  std::uint64_t idle_timeout_ms = 10'000;
};

// The fault peers, besides the `connections` of the load, each on a connection of its own: one
// sends half a request and resets the connection (a client that crashes); one sends bytes no
// request has and reads them back (garbage: an echo server must echo it too); one sends half a
// request, reads its echo and then stalls, until the server's idle timeout ends it.
inline constexpr std::uint64_t fault_peers = 3;
// What they send: the garbage peer this many bytes, the other two half a request each.
inline constexpr std::uint64_t fault_garbage_bytes = 64;
inline std::uint64_t fault_half_request_bytes(const spec& s) noexcept {
  return s.bytes / 2 > 0 ? s.bytes / 2 : 1;
}

// Client threads, the same for every model and cell: enough to keep a server on a few cores busy
// without taking the cores from it. Capped by the connection count.
inline constexpr unsigned client_threads = 2;

inline std::uint8_t payload_byte(std::uint64_t c, std::uint64_t r, std::uint64_t k) noexcept {
  std::uint64_t x = (c << 40) ^ (r << 16) ^ (k >> 3);  // splitmix64 of the position's word
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  x ^= x >> 31;
  return static_cast<std::uint8_t>(x >> (8 * (k & 7)));
}

}  // namespace cmbench::echo
