// The echo workload's fault peers (protocol.hpp), run by the client process beside the load.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "bench/echo/load_generator.hpp"

namespace cmbench::echo {

namespace {

// How long a peer waits for the server: to be served at all (an iterative server may first serve
// every other connection), and, once stalled, for the server's idle timeout to end it.
constexpr std::int64_t served_within_s = 120;

struct peer_error {
  std::mutex m;
  std::string first;
  void set(const std::string& what) {
    std::lock_guard lk(m);
    if (first.empty()) first = what;
  }
};

void receive_timeout(int fd, std::int64_t ms) {
  timeval tv{};
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

int connect_to(std::uint16_t port, peer_error& err, const char* who) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    err.set(std::string(who) + ": connect: " + std::strerror(errno));
    if (fd >= 0) ::close(fd);
    return -1;
  }
  receive_timeout(fd, served_within_s * 1000);
  return fd;
}

// Moves exactly n bytes, `call(offset, left)` being one blocking send or recv; false at end of
// file, an error or the receive timeout.
template <class Call>
bool exactly(std::size_t n, Call call) {
  for (std::size_t done = 0; done < n;) {
    const ssize_t k = call(done, n - done);
    if (k > 0)
      done += static_cast<std::size_t>(k);
    else if (k == 0 || errno != EINTR)
      return false;
  }
  return true;
}
bool send_all(int fd, const std::uint8_t* p, std::size_t n) {
  return exactly(
      n, [&](std::size_t at, std::size_t left) { return ::send(fd, p + at, left, MSG_NOSIGNAL); });
}
bool receive_all(int fd, std::uint8_t* p, std::size_t n) {
  return exactly(n, [&](std::size_t at, std::size_t left) { return ::recv(fd, p + at, left, 0); });
}

std::vector<std::uint8_t> half_request(const spec& s, std::uint64_t id) {
  std::vector<std::uint8_t> b(fault_half_request_bytes(s));
  for (std::size_t k = 0; k < b.size(); ++k) b[k] = payload_byte(s.connections + id, 0, k);
  return b;
}

void crash_mid_request(const spec& s, std::uint16_t port, peer_error& err) {
  const int fd = connect_to(port, err, "the resetting peer");
  if (fd < 0) return;
  const auto half = half_request(s, 0);
  if (!send_all(fd, half.data(), half.size())) err.set("the resetting peer: send failed");
  linger hard{1, 0};  // close with a reset, as a crashed client's kernel does
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  ::close(fd);
}

void send_garbage(std::uint16_t port, peer_error& err, fault_outcome& out) {
  const int fd = connect_to(port, err, "the garbage peer");
  if (fd < 0) return;
  std::uint8_t garbage[fault_garbage_bytes], back[fault_garbage_bytes];
  for (std::size_t k = 0; k < sizeof garbage; ++k)  // NULs, line ends, high bytes
    garbage[k] = static_cast<std::uint8_t>(k % 4 == 0   ? 0x00
                                           : k % 4 == 1 ? 0xff
                                           : k % 4 == 2 ? '\n'
                                                        : 0x80 + k);
  if (!send_all(fd, garbage, sizeof garbage) || !receive_all(fd, back, sizeof back))
    err.set("the garbage peer: its bytes did not come back");
  else if (std::memcmp(garbage, back, sizeof back) != 0)
    err.set("the garbage peer: its bytes came back changed");
  else
    out.garbage_echoed = true;
  ::shutdown(fd, SHUT_WR);
  std::uint8_t extra;
  if (::recv(fd, &extra, 1, 0) != 0) err.set("the garbage peer: the server did not close after it");
  ::close(fd);
}

void stall(const spec& s, std::uint16_t port, peer_error& err, fault_outcome& out) {
  const int fd = connect_to(port, err, "the stalled peer");
  if (fd < 0) return;
  auto half = half_request(s, 2);
  std::vector<std::uint8_t> back(half.size());
  const auto sent = clock::now();
  if (!send_all(fd, half.data(), half.size()) || !receive_all(fd, back.data(), back.size()) ||
      back != half) {
    err.set("the stalled peer: its half request did not come back");
    ::close(fd);
    return;
  }
  // Being served now; stall, until the server ends the connection (end of file or a reset).
  const auto echoed = clock::now();
  receive_timeout(fd, static_cast<std::int64_t>(2 * s.idle_timeout_ms + 5000));
  std::uint8_t extra;
  const ssize_t n = ::recv(fd, &extra, 1, 0);
  if (n == 0 || (n < 0 && errno == ECONNRESET)) {
    const auto ended = clock::now();
    out.stall_ended_after_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(ended - echoed).count();
    out.stall_since_sent_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(ended - sent).count();
  } else
    err.set(n > 0 ? "the stalled peer: the server sent bytes nobody asked for"
                  : "the stalled peer: the server kept the connection open past twice its idle "
                    "timeout");
  ::close(fd);
}

}  // namespace

fault_outcome run_fault_peers(const spec& s, std::uint16_t port) {
  fault_outcome out;
  peer_error err;
  {
    std::jthread a([&] { crash_mid_request(s, port, err); });
    std::jthread b([&] { send_garbage(port, err, out); });
    std::jthread c([&] { stall(s, port, err, out); });
  }
  out.error = err.first;
  return out;
}

}  // namespace cmbench::echo
