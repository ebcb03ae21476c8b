#include "bench/echo/socket.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <system_error>
#include <vector>

namespace cmbench::echo {

namespace {
[[noreturn]] void fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}
bool would_block(int e) noexcept {
  return e == EAGAIN || e == EWOULDBLOCK;
}
}  // namespace

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) fail("fcntl(O_NONBLOCK)");
}

io receive_some(int fd, char* buf, std::size_t cap, std::size_t& got) noexcept {
  for (;;) {
    const ssize_t n = ::recv(fd, buf, cap, 0);
    if (n > 0) {
      got = static_cast<std::size_t>(n);
      return io::done;
    }
    if (n == 0) return io::closed;
    if (errno == EINTR) continue;
    return would_block(errno) ? io::would_block : io::failed;
  }
}

io send_some(int fd, const char* buf, std::size_t len, std::size_t& sent) noexcept {
  for (;;) {
    const ssize_t n = ::send(fd, buf, len, MSG_NOSIGNAL);
    if (n >= 0) {
      sent = static_cast<std::size_t>(n);
      return io::done;
    }
    if (errno == EINTR) continue;
    return would_block(errno) ? io::would_block : io::failed;
  }
}

io accept_one(int listener, bool nonblocking, int& fd) noexcept {
  for (;;) {
    fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0));
    if (fd >= 0) {
      // Replies are small writes: without this, Nagle's algorithm holds the second part of a
      // split reply until the client's delayed ACK (up to 40 ms).
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return io::done;
    }
    // A connection reset while it waited in the queue is the client's problem, not the server's.
    if (errno == EINTR || errno == ECONNABORTED) continue;
    return would_block(errno) ? io::would_block : io::failed;
  }
}

int accept_counted(int listener, bool nonblocking, server_stats& stats) {
  int fd = -1;
  const io r = accept_one(listener, nonblocking, fd);
  if (r == io::would_block) return -1;
  if (r != io::done) fail("accept");
  stats.accepted.fetch_add(1, std::memory_order_relaxed);
  return fd;
}

idle_reaper::idle_reaper(std::uint64_t connections, std::chrono::milliseconds timeout)
    : capacity_(connections), slots_(std::make_unique<slot[]>(connections)), timeout_(timeout) {
  thread_ = std::thread([this] { loop(); });
}

idle_reaper::~idle_reaper() {
  {
    std::lock_guard lk(stop_mutex_);
    stop_ = true;
  }
  stop_cv_.notify_one();
  thread_.join();
}

idle_reaper::slot& idle_reaper::attach(int fd) {
  const std::uint64_t i = used_.fetch_add(1, std::memory_order_relaxed);
  if (i >= capacity_)
    throw std::logic_error("idle_reaper: more connections than the " + std::to_string(capacity_) +
                           " it was made for");
  slot& s = slots_[i];
  std::lock_guard lk(s.m);
  s.fd = fd;
  return s;
}

bool idle_reaper::detach(slot& s) noexcept {
  std::lock_guard lk(s.m);
  s.fd = -1;
  return s.reaped;
}

void idle_reaper::loop() {
  constexpr int looks_per_timeout = 4;
  // No progress count equals this: a connection's first look after it is attached counts as
  // progress, so that its quiet time is counted from after the attach.
  constexpr std::uint64_t never = UINT64_MAX;
  std::vector<std::uint64_t> seen(capacity_, never);
  std::vector<int> quiet(capacity_, 0);
  std::unique_lock lk(stop_mutex_);
  // Rounded up, so that the looks that find a connection quiet span the whole timeout.
  const auto interval =
      (std::chrono::nanoseconds(timeout_) + std::chrono::nanoseconds(looks_per_timeout - 1)) /
      looks_per_timeout;
  while (!stop_cv_.wait_for(lk, interval, [this] { return stop_; })) {
    const std::uint64_t n = std::min(used_.load(std::memory_order_relaxed), capacity_);
    for (std::uint64_t i = 0; i < n; ++i) {
      slot& s = slots_[i];
      std::lock_guard sl(s.m);
      const std::uint64_t p = s.progress.load(std::memory_order_relaxed);
      if (s.fd < 0 || s.reaped) {
        seen[i] = never;
        quiet[i] = 0;
        continue;
      }
      if (p != seen[i]) {
        seen[i] = p;
        quiet[i] = 0;
        continue;
      }
      if (++quiet[i] < looks_per_timeout) continue;
      // Shut down, not closed: the descriptor stays the unit's until it closes it, so it cannot
      // be reused under the unit; the unit wakes with end of file.
      ::shutdown(s.fd, SHUT_RDWR);
      s.reaped = true;
    }
  }
}

echo_session::echo_session(int fd, server_stats& stats, memory_probe& probe, idle_reaper& reaper)
    : fd_(fd), stats_(stats), probe_(probe), slot_(reaper.attach(fd)) {
  probe_.unit_started();
}

next_wait echo_session::step() noexcept {
  for (;;) {
    while (sent_ < got_) {
      std::size_t n = 0;
      const io w = send_some(fd_, buf_ + sent_, got_ - sent_, n);
      if (w == io::would_block) return next_wait::writable;
      if (w != io::done) return finish(/*failed=*/true);
      sent_ += n;
      moved();
    }
    if (got_ != 0) {
      stats_.bytes_echoed.fetch_add(got_, std::memory_order_relaxed);
      got_ = sent_ = 0;
    }
    const io r = receive_some(fd_, buf_, sizeof buf_, got_);
    if (r == io::would_block) return next_wait::readable;
    if (r != io::done) return finish(/*failed=*/r == io::failed);
    moved();
  }
}

next_wait echo_session::finish(bool failed) noexcept {
  if (idle_reaper::detach(slot_)) {
    stats_.timed_out.fetch_add(1, std::memory_order_relaxed);
    failed = false;  // the error, if any, is the shutdown's
  }
  finish_connection(fd_, failed, stats_);
  probe_.unit_finished();
  return next_wait::finished;
}

void serve_blocking(int fd, server_stats& stats, memory_probe& probe, idle_reaper& reaper) {
  echo_session session(fd, stats, probe, reaper);
  if (session.step() != next_wait::finished)
    throw std::logic_error("a blocking socket reported EAGAIN");
}

void finish_connection(int fd, bool failed, server_stats& stats) noexcept {
  ::close(fd);
  if (failed) stats.errors.fetch_add(1, std::memory_order_relaxed);
  stats.closed.fetch_add(1, std::memory_order_release);
}

readiness_poller::readiness_poller(bool own_thread) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) fail("epoll_create1");
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) {
    ::close(epoll_fd_);
    fail("eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the stop signal
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_fd_, &ev) < 0) {
    ::close(stop_fd_);
    ::close(epoll_fd_);
    fail("epoll_ctl(eventfd)");
  }
  if (own_thread) thread_ = std::thread([this] { loop(); });
}

readiness_poller::~readiness_poller() {
  if (thread_.joinable()) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(stop_fd_, &one, sizeof one);
    thread_.join();
  }
  ::close(stop_fd_);
  ::close(epoll_fd_);
}

void readiness_poller::arm(int fd, std::uint32_t events, waiter* w) {
  epoll_event ev{};
  ev.events = events | EPOLLONESHOT;
  ev.data.ptr = w;
  // A socket is added on its first wait and re-armed after; closing it removes it.
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) == 0) return;
  if (errno != ENOENT || ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0)
    fail("epoll_ctl(arm)");
}

bool readiness_poller::wake_ready(int timeout_ms) {
  epoll_event events[256];
  const int n = ::epoll_wait(epoll_fd_, events, 256, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return true;
    std::terminate();  // parked units could never be woken
  }
  for (int i = 0; i < n; ++i) {
    if (events[i].data.ptr == nullptr) return false;  // the stop signal
    static_cast<waiter*>(events[i].data.ptr)->ready();
  }
  return true;
}

void readiness_poller::poll_now() {
  wake_ready(0);
}

void readiness_poller::loop() {
  while (wake_ready(-1)) {
  }
}

}  // namespace cmbench::echo
