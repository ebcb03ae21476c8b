// Socket steps every echo server shares, and the poller the event-driven servers park on.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <thread>

#include "bench/echo/spec.hpp"
#include "bench/harness/memory_probe.hpp"

namespace cmbench::echo {

// Each connection handler's buffer, the same in every model (Asio's echo examples use 1 KiB).
inline constexpr std::size_t server_buffer_bytes = 1024;

void set_nonblocking(int fd);

// What one step of a socket call came to.
enum class io { done, would_block, closed, failed };

// recv / send once; never raises SIGPIPE (a peer that disconnects mid-reply is an error of that
// connection, not a signal to the process).
io receive_some(int fd, char* buf, std::size_t cap, std::size_t& got) noexcept;
io send_some(int fd, const char* buf, std::size_t len, std::size_t& sent) noexcept;

// Accepts one connection; non-blocking listeners return would_block when none is waiting. The
// accepted socket is non-blocking when `nonblocking` is set.
io accept_one(int listener, bool nonblocking, int& fd) noexcept;

// The echo loop of one connection, for every model whose unit can block in a call: receive what
// has arrived, send it all back, until end-of-file. `wait_readable(fd)` / `wait_writable(fd)`
// park the unit until the socket is ready (blocking sockets never ask). Closes fd and counts the
// connection in stats. coro.cpp spells out the same steps around co_await.
template <class WaitReadable, class WaitWritable>
void echo_connection(int fd, server_stats& stats, memory_probe& probe,
                     WaitReadable&& wait_readable, WaitWritable&& wait_writable);

// The wait of a blocking socket, which never reports would_block.
struct never_waits {
  void operator()(int) const { throw std::logic_error("a blocking socket reported EAGAIN"); }
};

// Accepts the next connection for a server, counting it; throws if accept fails.
int accept_counted(int listener, bool nonblocking, server_stats& stats);

// Closes a served connection and counts how it ended.
void finish_connection(int fd, bool failed, server_stats& stats) noexcept;

// A thread with epoll over the sockets of parked units: a unit arms a one-shot wait for its
// socket and parks; when the socket is ready the poller calls its waiter's ready() once, from the
// poller's thread, and the waiter wakes the unit in its model's own way (coroutines are posted
// to the scheduler, fibers notified through a fiber condition variable, oneTBB tasks resumed).
// One-shot arming means no unit is ever woken for readiness it did not ask for, at one
// epoll_ctl per wait.
class readiness_poller {
 public:
  struct waiter {
    virtual void ready() noexcept = 0;

   protected:
    ~waiter() = default;
  };

  readiness_poller();
  ~readiness_poller();
  readiness_poller(const readiness_poller&) = delete;
  readiness_poller& operator=(const readiness_poller&) = delete;

  // Calls w->ready() once fd has any of `events` (EPOLLIN, EPOLLOUT) or an error or hang-up.
  // After this call the waiter may already have been woken: the caller must be parked (or about
  // to park in a way that a ready() first is not lost).
  void arm(int fd, std::uint32_t events, waiter* w);

 private:
  void loop();
  int epoll_fd_ = -1;
  int stop_fd_ = -1;  // an eventfd; readable means stop
  std::thread thread_;
};

template <class WaitReadable, class WaitWritable>
void echo_connection(int fd, server_stats& stats, memory_probe& probe,
                     WaitReadable&& wait_readable, WaitWritable&& wait_writable) {
  probe.unit_started();
  char buf[server_buffer_bytes];
  bool failed = false;
  for (;;) {
    std::size_t got = 0;
    const io r = receive_some(fd, buf, sizeof buf, got);
    if (r == io::would_block) {
      wait_readable(fd);
      continue;
    }
    if (r != io::done) {
      failed = r == io::failed;
      break;
    }
    std::size_t sent = 0;
    while (sent < got && !failed) {
      std::size_t n = 0;
      const io w = send_some(fd, buf + sent, got - sent, n);
      if (w == io::done)
        sent += n;
      else if (w == io::would_block)
        wait_writable(fd);
      else
        failed = true;
    }
    if (failed) break;
    stats.bytes_echoed.fetch_add(got, std::memory_order_relaxed);
  }
  finish_connection(fd, failed, stats);
  probe.unit_finished();
}

}  // namespace cmbench::echo
