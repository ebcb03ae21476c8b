// Socket steps every echo server shares: the session and its idle timeout, the acceptors, and the
// readiness poller the fiber and oneTBB servers park on.
#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
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

// Ends connections whose peer has gone quiet, as a server's idle timeout does (nginx's
// client_body_timeout, Go's SetReadDeadline): a connection that has moved no byte for about
// `timeout` (between 1 and 1.25 times it) is shut down, which wakes its unit however it waits, in
// a blocking recv or parked on readiness, with end of file; the unit then closes it as usual and
// counts it as timed out. One thread per server, the same for every model, looks at every
// connection four times per timeout; a unit pays a relaxed store per socket call that moved bytes.
class idle_reaper {
 public:
  struct slot {
    std::mutex m;  // the reaper holds it to shut the socket down, the unit to detach before close
    int fd = -1;
    bool reaped = false;
    std::atomic<std::uint64_t> progress{0};
  };

  // Room for `connections` units over the reaper's life.
  idle_reaper(std::uint64_t connections, std::chrono::milliseconds timeout);
  ~idle_reaper();
  idle_reaper(const idle_reaper&) = delete;
  idle_reaper& operator=(const idle_reaper&) = delete;

  // A slot for a connection whose unit starts serving it; throws past `connections`.
  slot& attach(int fd);
  // The unit is about to close the socket: the reaper lets go of it. True if it timed out.
  static bool detach(slot& s) noexcept;

 private:
  void loop();
  std::uint64_t capacity_;
  std::unique_ptr<slot[]> slots_;
  std::atomic<std::uint64_t> used_{0};
  std::chrono::milliseconds timeout_;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread thread_;
};

// What a connection's unit waits for before its next step.
enum class next_wait { readable, writable, finished };

// One connection's echo, as steps that every model drives in its own way: step() receives what
// has arrived and sends it all back until the socket would block, and says what to wait for
// then; at end of file, an error or the reaper's shutdown it closes the socket, counts how the
// connection ended, and returns finished. On a blocking socket one step serves the whole
// connection. The 1 KiB buffer is the unit's own: on its stack, or in its coroutine frame.
class echo_session {
 public:
  echo_session(int fd, server_stats& stats, memory_probe& probe, idle_reaper& reaper);
  echo_session(const echo_session&) = delete;
  echo_session& operator=(const echo_session&) = delete;

  next_wait step() noexcept;

 private:
  next_wait finish(bool failed) noexcept;
  void moved() noexcept { slot_.progress.store(++progress_, std::memory_order_relaxed); }

  int fd_;
  server_stats& stats_;
  memory_probe& probe_;
  idle_reaper::slot& slot_;
  std::uint64_t progress_ = 0;
  std::size_t got_ = 0;   // bytes in buf_
  std::size_t sent_ = 0;  // of them, sent back
  char buf_[server_buffer_bytes];
};

// Serves a connection on a blocking socket, which never reports would_block.
void serve_blocking(int fd, server_stats& stats, memory_probe& probe, idle_reaper& reaper);

// The epoll events a unit parked on readiness waits for.
inline std::uint32_t epoll_events(next_wait w) noexcept {
  return w == next_wait::readable ? EPOLLIN : EPOLLOUT;
}

// Accepts the next connection for a server, counting it; throws if accept fails.
int accept_counted(int listener, bool nonblocking, server_stats& stats);

// Closes a served connection and counts how it ended.
void finish_connection(int fd, bool failed, server_stats& stats) noexcept;

// For the servers whose units park on readiness in a call (tbb, fibers): `park(fd, events)`
// returns once fd is ready. (coro spells the same steps with co_await.)
template <class Park>
void serve_parking(int fd, server_stats& stats, memory_probe& probe, idle_reaper& reaper,
                   Park&& park) {
  echo_session session(fd, stats, probe, reaper);
  for (next_wait w; (w = session.step()) != next_wait::finished;) park(fd, epoll_events(w));
}

// Their acceptor: accepts `connections` on a non-blocking listener, parking on it while none is
// waiting, and hands each to `start(fd)`, counting the unit. An accept error stops it and is
// returned rather than thrown, so that the caller still waits for the units it started and
// reports it after: they must be served to their end.
template <class Park, class Start>
std::exception_ptr accept_parking(int listener, std::uint64_t connections, server_stats& stats,
                                  Park&& park, Start&& start) noexcept {
  try {
    for (std::uint64_t i = 0; i < connections; ++i) {
      int fd;
      while ((fd = accept_counted(listener, /*nonblocking=*/true, stats)) < 0)
        park(listener, EPOLLIN);
      stats.units.fetch_add(1, std::memory_order_relaxed);
      try {
        start(fd);
      } catch (...) {
        finish_connection(fd, /*failed=*/true, stats);  // no unit took it
        throw;
      }
    }
  } catch (...) {
    return std::current_exception();
  }
  return nullptr;
}

// A thread with epoll over the sockets of parked units: a unit arms a one-shot wait for its
// socket and parks; when the socket is ready the poller calls its waiter's ready() once, from the
// poller's thread, and the waiter wakes the unit in its model's own way (fibers notified through
// a fiber condition variable, oneTBB tasks resumed; coroutines wait on their scheduler's own
// reactor instead).
// One-shot arming means no unit is ever woken for readiness it did not ask for, at one
// epoll_ctl per wait.
class readiness_poller {
 public:
  struct waiter {
    virtual void ready() noexcept = 0;

   protected:
    ~waiter() = default;
  };

  // own_thread = false: no thread; whoever owns the poller calls poll_now() (the tbb_polling
  // model, from a task in its arena).
  explicit readiness_poller(bool own_thread = true);
  ~readiness_poller();
  readiness_poller(const readiness_poller&) = delete;
  readiness_poller& operator=(const readiness_poller&) = delete;

  // Calls w->ready() once fd has any of `events` (EPOLLIN, EPOLLOUT) or an error or hang-up.
  // After this call the waiter may already have been woken: the caller must be parked (or about
  // to park in a way that a ready() first is not lost).
  void arm(int fd, std::uint32_t events, waiter* w);

  // Wakes the waiters whose sockets are ready now, without blocking.
  void poll_now();

 private:
  // Waits up to timeout_ms (-1: for ever) for ready sockets and wakes their waiters; false once
  // the destructor has signalled the thread to stop.
  bool wake_ready(int timeout_ms);
  void loop();
  int epoll_fd_ = -1;
  int stop_fd_ = -1;  // an eventfd; readable means stop
  std::thread thread_;
};

}  // namespace cmbench::echo
