// load_generator: the echo client's engine, the same for every model (see spec.hpp for the
// protocol). It runs in a process of its own, cmbench-echo-client (client_main.cpp), which the
// cells start through echo::client (client_process.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "bench/echo/protocol.hpp"

namespace cmbench::echo {

// Built before a run: it allocates every connection's buffers and starts its threads, which wait
// for start(). wait() returns once every connection is done.
class load_generator {
 public:
  // latency_ns: where each request's latency goes, indexed by connection * requests + request
  // (-1 until it is measured); connections * requests entries.
  load_generator(const spec& s, std::uint16_t port, std::int64_t* latency_ns);
  ~load_generator();
  load_generator(const load_generator&) = delete;
  load_generator& operator=(const load_generator&) = delete;

  void start();
  void wait();

  // After wait(): requests whose reply matched, and the first error (empty if none).
  std::uint64_t verified() const;
  const std::string& error() const;

  struct state;  // client.cpp's

 private:
  std::unique_ptr<state> st_;
};

// The fault peers (protocol.hpp), run to the end, each on a thread of its own, with blocking
// sockets bounded by timeouts; fault_peers.cpp.
struct fault_outcome {
  bool garbage_echoed = false;
  std::int64_t stall_ended_after_ns = -1;  // from the stalled peer's echo to its end
  std::int64_t stall_since_sent_ns = -1;   // from sending its half request to its end
  std::string error;  // empty: every peer saw what it should
};
fault_outcome run_fault_peers(const spec& s, std::uint16_t port);

}  // namespace cmbench::echo
