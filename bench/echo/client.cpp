// The echo load generator: the same for every model. See spec.hpp for the protocol.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <queue>
#include <system_error>
#include <thread>

#include "bench/echo/load_generator.hpp"

namespace cmbench::echo {

namespace {

enum class phase { unopened, connecting, waiting, sending, receiving, draining, done };

struct connection {
  int fd = -1;
  std::uint64_t id = 0;
  std::uint64_t request = 0;
  std::size_t sent = 0;
  std::size_t got = 0;
  phase at = phase::unopened;
  bool answered_once = false;
  std::uint32_t armed = 0;  // the epoll events the socket is registered for
  clock::time_point started;  // latency origin of the current request
  std::uint8_t* out = nullptr;
  std::uint8_t* in = nullptr;
};

constexpr std::int64_t abandon_poll_ns = 100'000'000;

// The kernel's cap on a listener's queue of connections not yet accepted.
std::uint64_t accept_queue_cap() {
  std::ifstream in("/proc/sys/net/core/somaxconn");
  std::uint64_t v = 0;
  return (in >> v) && v > 0 ? v : 128;
}

}  // namespace

struct load_generator::state {
  spec s;
  std::uint16_t port;
  unsigned threads;
  std::vector<connection> conns;
  std::vector<std::uint8_t> buffers;
  std::int64_t* latency_ns = nullptr;
  std::vector<std::thread> workers;
  std::atomic<int> go{0};  // 1: run, -1: never started
  // Set when the run is given up (the server failed): the threads stop within a poll interval.
  std::atomic<bool> abandon{false};
  std::atomic<std::uint64_t> verified{0};
  std::mutex error_mutex;
  std::string error;
  // Connections a thread keeps opened but not yet answered once: a server that accepts one at a
  // time (sync) leaves them in the listener's queue, and a full queue drops connection requests,
  // which the kernel then retries a second or more later. Half the cap keeps clear of it.
  std::uint64_t opening_limit;

  void record_error(const std::string& what) {
    std::lock_guard lk(error_mutex);
    if (error.empty()) error = what;
  }
  void run(unsigned index);
};

namespace {

class thread_loop {
 public:
  thread_loop(load_generator::state& st, unsigned index) : st_(st) {
    for (std::uint64_t c = index; c < st.s.connections; c += st.threads) mine_.push_back(c);
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  }
  ~thread_loop() {
    for (std::uint64_t c : mine_)
      if (st_.conns[c].fd >= 0) ::close(st_.conns[c].fd);
    ::close(epoll_);
  }

  void run() {
    const std::uint64_t limit =
        std::max<std::uint64_t>(1, st_.opening_limit / st_.threads);
    std::uint64_t next_to_open = 0;
    std::uint64_t finished = 0;
    epoll_event events[256];
    while (finished < mine_.size()) {
      if (st_.abandon.load(std::memory_order_relaxed)) {
        st_.record_error("abandoned with " + std::to_string(mine_.size() - finished) +
                         " connections unfinished");
        return;
      }
      while (next_to_open < mine_.size() && opening_ < limit) open(st_.conns[mine_[next_to_open++]]);
      // Open loop: the schedule starts once the connections opened so far are established, so
      // that connection set-up does not count as the first requests' latency.
      if (!scheduled_ && connecting_ == 0 && (next_to_open == mine_.size() || opening_ >= limit)) {
        scheduled_ = true;
        t0_ = clock::now();
        for (connection* c : unscheduled_) begin_request(*c);
        unscheduled_.clear();
      }
      send_due();
      const int n = wait(events, 256);
      for (int i = 0; i < n; ++i) {
        connection& c = *static_cast<connection*>(events[i].data.ptr);
        step(c, events[i].events);
      }
      finished = finished_;
    }
  }

 private:
  using due_entry = std::pair<clock::time_point, connection*>;
  struct later {
    bool operator()(const due_entry& a, const due_entry& b) const { return a.first > b.first; }
  };

  clock::time_point intended(const connection& c) const {
    const double at_s = static_cast<double>(c.request * st_.s.connections + c.id) /
                        static_cast<double>(st_.s.rate);
    return t0_ + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(at_s));
  }

  int wait(epoll_event* events, int cap) {
    // With no request due, wake up now and then to see whether the run was abandoned.
    auto left = std::chrono::nanoseconds(abandon_poll_ns);
    if (!due_.empty()) left = std::min<std::chrono::nanoseconds>(left, due_.top().first - clock::now());
    timespec timeout{};
    const timespec* t = &timeout;
    {
      const auto ns = std::max<std::int64_t>(
          0, std::chrono::duration_cast<std::chrono::nanoseconds>(left).count());
      timeout.tv_sec = ns / 1'000'000'000;
      timeout.tv_nsec = ns % 1'000'000'000;
      t = &timeout;
    }
    for (;;) {
      const int n = ::epoll_pwait2(epoll_, events, cap, t, nullptr);
      if (n >= 0) return n;
      if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "epoll_pwait2");
    }
  }

  void fail(connection& c, const std::string& what) {
    st_.record_error("connection " + std::to_string(c.id) + ", request " +
                     std::to_string(c.request) + ": " + what);
    finish(c);
  }

  void finish(connection& c) {
    if (c.at == phase::connecting) --connecting_;
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
    if (!c.answered_once) --opening_;
    c.answered_once = true;
    c.at = phase::done;
    ++finished_;
  }

  void watch(connection& c, std::uint32_t events) {
    if (c.armed == events) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = &c;
    if (::epoll_ctl(epoll_, c.armed == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c.fd, &ev) != 0)
      throw std::system_error(errno, std::generic_category(), "epoll_ctl");
    c.armed = events;
  }

  void open(connection& c) {
    ++opening_;
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) return fail(c, std::string("socket: ") + std::strerror(errno));
    const int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(st_.port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(c.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
      watch(c, EPOLLIN);
      return begin_request(c);
    }
    if (errno != EINPROGRESS) return fail(c, std::string("connect: ") + std::strerror(errno));
    c.at = phase::connecting;
    ++connecting_;
    watch(c, EPOLLOUT);
  }

  void begin_request(connection& c) {
    c.sent = 0;
    c.got = 0;
    for (std::uint64_t k = 0; k < st_.s.bytes; ++k) c.out[k] = payload_byte(c.id, c.request, k);
    if (st_.s.rate != 0) {
      if (!scheduled_) {
        c.at = phase::waiting;
        unscheduled_.push_back(&c);
        return;
      }
      const auto at = intended(c);
      c.started = at;
      if (at > clock::now()) {
        c.at = phase::waiting;
        due_.push({at, &c});
        return;
      }
    } else {
      c.started = clock::now();
    }
    send_rest(c);
  }

  void send_due() {
    const auto now = clock::now();
    while (!due_.empty() && due_.top().first <= now) {
      connection& c = *due_.top().second;
      due_.pop();
      send_rest(c);
    }
  }

  void send_rest(connection& c) {
    c.at = phase::sending;
    while (c.sent < st_.s.bytes) {
      const ssize_t n = ::send(c.fd, c.out + c.sent, st_.s.bytes - c.sent, MSG_NOSIGNAL);
      if (n > 0) {
        c.sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return watch(c, EPOLLIN | EPOLLOUT);
      return fail(c, std::string("send: ") + std::strerror(errno));
    }
    c.at = phase::receiving;
    watch(c, EPOLLIN);
  }

  void step(connection& c, std::uint32_t events) {
    switch (c.at) {
      case phase::connecting: {
        --connecting_;
        c.at = phase::waiting;
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) return fail(c, std::string("connect: ") + std::strerror(err));
        watch(c, EPOLLIN);
        return begin_request(c);
      }
      case phase::sending:
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) send_rest(c);
        if (c.at != phase::receiving || !(events & EPOLLIN)) return;
        [[fallthrough]];
      case phase::receiving:
        return receive(c);
      case phase::draining:
        return drain(c);
      default:
        // A reply before its request was sent (waiting) is a server that sent unasked bytes.
        if (events & EPOLLIN) return fail(c, "the server sent bytes nobody asked for");
        return;
    }
  }

  void receive(connection& c) {
    for (;;) {
      const ssize_t n = ::recv(c.fd, c.in + c.got, st_.s.bytes - c.got, 0);
      if (n > 0) {
        c.got += static_cast<std::size_t>(n);
        if (c.got < st_.s.bytes) continue;
        return reply_complete(c);
      }
      if (n == 0) return fail(c, "the server closed the connection before replying");
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      return fail(c, std::string("recv: ") + std::strerror(errno));
    }
  }

  void reply_complete(connection& c) {
    const auto now = clock::now();
    if (c.sent < st_.s.bytes) return fail(c, "a reply arrived before its request was sent");
    if (std::memcmp(c.in, c.out, st_.s.bytes) != 0)
      return fail(c, "the reply differs from the request");
    st_.latency_ns[c.id * st_.s.requests + c.request] =
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - c.started).count();
    st_.verified.fetch_add(1, std::memory_order_relaxed);
    if (!c.answered_once) {
      c.answered_once = true;
      --opening_;
    }
    if (++c.request < st_.s.requests) return begin_request(c);
    // Done: say so, and wait for the server to close its side.
    ::shutdown(c.fd, SHUT_WR);
    c.at = phase::draining;
    drain(c);
  }

  void drain(connection& c) {
    char extra[64];
    for (;;) {
      const ssize_t n = ::recv(c.fd, extra, sizeof extra, 0);
      if (n == 0) return finish(c);
      if (n > 0) return fail(c, "the server sent bytes after the last reply");
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      return fail(c, std::string("recv at close: ") + std::strerror(errno));
    }
  }

  load_generator::state& st_;
  std::vector<std::uint64_t> mine_;
  int epoll_ = -1;
  std::uint64_t opening_ = 0;
  std::uint64_t finished_ = 0;
  std::uint64_t connecting_ = 0;
  bool scheduled_ = st_.s.rate == 0;
  clock::time_point t0_;
  std::vector<connection*> unscheduled_;
  std::priority_queue<due_entry, std::vector<due_entry>, later> due_;
};

}  // namespace

void load_generator::state::run(unsigned index) {
  try {
    thread_loop loop(*this, index);
    go.wait(0);
    if (go.load() < 0) return;
    loop.run();
  } catch (const std::exception& e) {
    record_error(std::string("client thread: ") + e.what());
  }
}

load_generator::load_generator(const spec& s, std::uint16_t port, std::int64_t* latency_ns)
    : st_(std::make_unique<state>()) {
  state& st = *st_;
  st.s = s;
  st.port = port;
  st.threads = static_cast<unsigned>(std::min<std::uint64_t>(client_threads, s.connections));
  st.opening_limit = std::max<std::uint64_t>(1, accept_queue_cap() / 2);
  st.conns.resize(s.connections);
  // Every buffer is allocated and touched here, outside the measured region and the memory probe.
  st.buffers.assign(2 * s.connections * s.bytes, 0);
  st.latency_ns = latency_ns;
  std::fill_n(latency_ns, s.connections * s.requests, -1);
  for (std::uint64_t c = 0; c < s.connections; ++c) {
    st.conns[c].id = c;
    st.conns[c].out = st.buffers.data() + 2 * c * s.bytes;
    st.conns[c].in = st.conns[c].out + s.bytes;
  }
  for (unsigned t = 0; t < st.threads; ++t) st.workers.emplace_back([&st, t] { st.run(t); });
}

load_generator::~load_generator() {
  st_->abandon.store(true);
  if (st_->go.load() == 0) {
    st_->go.store(-1, std::memory_order_seq_cst);
    st_->go.notify_all();
  }
  for (auto& t : st_->workers)
    if (t.joinable()) t.join();
}

void load_generator::start() {
  st_->go.store(1, std::memory_order_seq_cst);
  st_->go.notify_all();
}

void load_generator::wait() {
  for (auto& t : st_->workers) t.join();
}

std::uint64_t load_generator::verified() const {
  return st_->verified.load();
}
const std::string& load_generator::error() const {
  return st_->error;
}

}  // namespace cmbench::echo
