// echo, a thread per connection: the calling thread accepts with a blocking accept and starts a
// std::thread for each connection, which echoes it with blocking sockets; the kernel's scheduler
// does the multiplexing. Every thread is joined before serve() returns.
#include <system_error>
#include <thread>
#include <vector>

#include "bench/echo/socket.hpp"

namespace cmbench::echo {

namespace {
class thread_per_connection final : public model {
 public:
  void serve(int listener, const spec& s, server_stats& stats, memory_probe& probe,
             idle_reaper& reaper) override {
    std::vector<std::thread> threads;
    threads.reserve(s.connections);
    auto join_all = [&] {
      for (auto& t : threads) t.join();
    };
    try {
      for (std::uint64_t i = 0; i < s.connections; ++i) {
        const int fd = accept_counted(listener, /*nonblocking=*/false, stats);
        try {
          threads.emplace_back(
              [fd, &stats, &probe, &reaper] { serve_blocking(fd, stats, probe, reaper); });
        } catch (...) {
          finish_connection(fd, /*failed=*/true, stats);
          throw;
        }
        stats.units.fetch_add(1, std::memory_order_relaxed);
      }
    } catch (const std::system_error& e) {
      join_all();  // the clients of the threads already running still finish
      throw std::runtime_error("connection " + std::to_string(threads.size() + 1) + " of " +
                               std::to_string(s.connections) + ": " + e.what());
    }
    join_all();
  }
};
}  // namespace

std::unique_ptr<model> make_threads(const cell_env&) {
  return std::make_unique<thread_per_connection>();
}

}  // namespace cmbench::echo
