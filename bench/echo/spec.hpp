// The echo workload: C client connections on 127.0.0.1, each sending R requests of B bytes and
// reading each reply before the next; the server side is the model under test.
//
// The client (client.cpp) is the same for every model: a process of its own with a few threads,
// each an epoll loop over its share of the connections, started before the measured region and
// released at its start. Byte k of request r on connection c is payload_byte(c, r, k); the client
// compares every reply with its request byte for byte. A server echoes bytes: it reads what
// arrives and writes it back, so it never needs to know where a request ends. When a
// connection's last reply has arrived, the client shuts down its sending side; the server sees
// end-of-file and closes; the client sees that close and closes too. The server serves exactly
// served_connections() connections (C, and the fault peers of a fault cell: protocol.hpp) and
// returns when every one of them is closed.
//
// Closed loop (rate 0): a connection sends its next request as soon as the previous reply is in;
// latency is the round trip. Open loop (rate > 0, requests per second over all connections):
// connection c intends to send request r at start + (r * C + c) / rate; it still sends one at a
// time, so a late reply delays the next send, but latency is measured from the intended send time
// (as wrk2 does), so a server that stalls shows its stall in the tail instead of hiding it by
// slowing the client down (coordinated omission).
//
// Measured region: from the clients' release until every connection is closed on both sides, so
// it includes each model's cost of taking a connection (a thread, a task, a fiber, a coroutine).
// Items are the load's requests. Units are the connections the server served; each model marks
// one unit live per connection it serves, so rss_per_task_B is memory per connection.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "bench/echo/protocol.hpp"
#include "bench/harness/cell.hpp"
#include "bench/harness/measure.hpp"

namespace cmbench::echo {

// What the server side saw; filled by the model, read by the check. Atomic because several
// workers and threads serve at once.
struct server_stats {
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> closed{0};
  std::atomic<std::uint64_t> bytes_echoed{0};
  std::atomic<std::uint64_t> errors{0};  // connections that ended with a socket error
  std::atomic<std::uint64_t> timed_out{0};  // connections the idle reaper shut down
  std::atomic<std::uint64_t> units{0};   // handlers (threads, tasks, fibers, coroutines) started
};

// Connections a server serves in a run: the load's, and the fault peers when there are faults.
inline std::uint64_t served_connections(const spec& s) noexcept {
  return s.connections + (s.faults ? fault_peers : 0);
}

class idle_reaper;  // socket.hpp

// A model's server: serves `s.connections` connections arriving on `listener` (a bound,
// listening, blocking socket; the model may make it non-blocking) and returns when each has been
// closed, each served by an echo_session attached to `reaper` (socket.hpp). Its runtime lives as
// long as the object (one benchmark run).
class model {
 public:
  virtual ~model() = default;
  virtual void serve(int listener, const spec& s, server_stats& stats, memory_probe& probe,
                     idle_reaper& reaper) = 0;
};

std::unique_ptr<model> make_sync(const cell_env& env);
std::unique_ptr<model> make_threads(const cell_env& env);
std::unique_ptr<model> make_tbb(const cell_env& env);
std::unique_ptr<model> make_tbb_polling(const cell_env& env);
std::unique_ptr<model> make_fibers(const cell_env& env);
std::unique_ptr<model> make_coro(const cell_env& env);

// The load generator as the cells run it: load_generator (client.cpp) in a process of its own,
// cmbench-echo-client (client_process.cpp starts it), so that what the cell measures of the
// process (CPU time, memory, descriptors) is the server's alone, and so that 10^4 connections
// need 10^4 descriptors per process, not 2 x 10^4 in one. The constructor returns once the
// process has allocated every connection's buffers and its threads wait for start(); wait()
// returns once every connection is done. Ending the object ends the process.
class client {
 public:
  client(const spec& s, std::uint16_t port);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Releases the client. If it ends without success (an error of its own, or no report: it
  // died), on_failure is called from another thread: a server may still be waiting for
  // connections that will never come, and must be stopped.
  void start(std::function<void()> on_failure = {});
  void wait();
  // Whether the process has ended (reported, or died), so that wait() will not block.
  bool ended() const noexcept { return ended_.load(std::memory_order_acquire); }

  // After wait(): requests whose reply matched, the first error (empty if none), and each
  // request's latency in nanoseconds, indexed by connection * requests + request (-1: none).
  std::uint64_t verified() const;
  const std::string& error() const;
  std::span<const std::int64_t> latency_ns() const;
  // With faults (protocol.hpp): the garbage peer got its bytes back; how long after its echo, and
  // after it sent its half request, the stalled peer's connection was ended by the server (-1: it
  // was not). The server's last byte for it came between the two, so an idle timeout that keeps
  // its word makes the second at least the timeout; the first is what the peer saw of the stall.
  bool garbage_echoed() const;
  std::int64_t stall_ended_after_ns() const;
  std::int64_t stall_since_sent_ns() const;

 private:
  void spawn_process(const spec& s, std::uint16_t port);
  void release() noexcept;
  void reap() noexcept;
  void watch(std::function<void()> on_failure);
  std::uint64_t requests_ = 0;
  std::thread watcher_;  // reads the status pipe once the client runs
  std::atomic<bool> ended_{false};
  int pid_ = -1;
  int go_fd_ = -1;
  int status_fd_ = -1;
  void* shared_ = nullptr;
  std::size_t shared_bytes_ = 0;
  std::string error_;
};

// A listening socket on 127.0.0.1 with a port the kernel chose; closed on destruction.
class listener {
 public:
  explicit listener(std::uint64_t backlog);
  ~listener();
  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;
  int fd() const noexcept { return fd_; }
  std::uint16_t port() const noexcept { return port_; }
  // Wakes a server waiting in accept (blocked, or parked on readiness), whose accept then fails.
  void stop_accepting() noexcept;

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// Open file descriptors of this process, each as "fd -> what it is" (its /proc/self/fd link:
// socket:[inode], a path, ...), sorted; one another thread holds only for a moment is left out.
std::vector<std::string> descriptor_list();
// One listing of /proc/self/fd, as descriptor_list() gives it, brief descriptors included.
std::vector<std::string> descriptor_listing_once();
// Listings by list_once, `gap` apart, until two in a row agree (at most `tries` more): the last.
std::vector<std::string> settled_listing(
    const std::function<std::vector<std::string>()>& list_once, std::chrono::nanoseconds gap,
    int tries);
// How many: descriptor_list().size().
std::uint64_t open_descriptors();

// Raises RLIMIT_NOFILE's soft limit to what a cell with `connections` needs (the server's end
// of every connection, in this process; the client process inherits the limit), if the hard limit
// allows; otherwise says why the cell cannot run.
std::optional<std::string> descriptor_refusal(std::uint64_t connections);

struct run_result {
  std::uint64_t verified = 0;
  std::string client_error;
  bool garbage_echoed = false;
  std::int64_t stall_ended_after_ns = -1;
  std::int64_t stall_since_sent_ns = -1;
  std::span<const std::int64_t> latency_ns;
  std::uint64_t descriptors_before = 0;
  std::uint64_t descriptors_after = 0;
  std::vector<std::string> descriptors_added;  // named in the error when the counts differ
};
check_result check(const spec& s, const server_stats& stats, const run_result& r,
                   latency_histogram& lat);

std::vector<cell> cells(const cell_env& env);

}  // namespace cmbench::echo
