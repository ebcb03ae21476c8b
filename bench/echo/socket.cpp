#include "bench/echo/socket.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <system_error>

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

void finish_connection(int fd, bool failed, server_stats& stats) noexcept {
  ::close(fd);
  if (failed) stats.errors.fetch_add(1, std::memory_order_relaxed);
  stats.closed.fetch_add(1, std::memory_order_release);
}

readiness_poller::readiness_poller() {
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
  thread_ = std::thread([this] { loop(); });
}

readiness_poller::~readiness_poller() {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(stop_fd_, &one, sizeof one);
  thread_.join();
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

void readiness_poller::loop() {
  epoll_event events[256];
  for (;;) {
    const int n = ::epoll_wait(epoll_fd_, events, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::terminate();  // parked units could never be woken
    }
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) return;
      static_cast<waiter*>(events[i].data.ptr)->ready();
    }
  }
}

}  // namespace cmbench::echo
