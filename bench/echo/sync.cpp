// echo, iterative: the calling thread accepts one connection, echoes it with blocking sockets
// until the client closes, then takes the next. Every other client waits in the listener's queue
// meanwhile: the baseline, and the reason servers are concurrent.
#include "bench/echo/socket.hpp"

namespace cmbench::echo {

namespace {
class iterative final : public model {
 public:
  void serve(int listener, const spec& s, server_stats& stats, memory_probe& probe,
             idle_reaper& reaper) override {
    for (std::uint64_t i = 0; i < s.connections; ++i) {
      const int fd = accept_counted(listener, /*nonblocking=*/false, stats);
      stats.units.fetch_add(1, std::memory_order_relaxed);
      serve_blocking(fd, stats, probe, reaper);
    }
  }
};
}  // namespace

std::unique_ptr<model> make_sync(const cell_env&) {
  return std::make_unique<iterative>();
}

}  // namespace cmbench::echo
