// echo::client: starts cmbench-echo-client (client_main.cpp) with posix_spawn, which is safe in a
// process that already runs threads (a fork would copy whatever locks they held), hands it the
// spec on its command line, and reads its report from shared memory.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "bench/echo/client_report.hpp"
#include "bench/echo/spec.hpp"

extern char** environ;

namespace cmbench::echo {

namespace {

// Where the build put the client; set by bench/CMakeLists.txt.
constexpr const char* client_program = CMBENCH_ECHO_CLIENT;

[[noreturn]] void fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void close_fd(int& fd) noexcept {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Reads one status byte; 0 at end of file (the process ended) or a failed read.
char read_status(int fd) noexcept {
  for (;;) {
    char c = 0;
    const ssize_t n = ::read(fd, &c, 1);
    if (n == 1) return c;
    if (n == 0 || errno != EINTR) return 0;
  }
}

// How a child that has ended did, without collecting it (its pid stays ours until reap()).
std::string how_it_ended(pid_t pid) {
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) != 0)
    return std::string("waitid: ") + std::strerror(errno);
  if (info.si_code == CLD_EXITED) return "exit status " + std::to_string(info.si_status);
  return std::string("signal ") + ::strsignal(info.si_status);
}

// A descriptor closed at the end of its scope unless released.
struct owned_fd {
  int fd = -1;
  ~owned_fd() { close_fd(fd); }
  int release() noexcept { return std::exchange(fd, -1); }
};

}  // namespace

client::client(const spec& s, std::uint16_t port) : requests_(s.connections * s.requests) {
  try {
    spawn_process(s, port);
  } catch (...) {
    release();
    throw;
  }
}

void client::spawn_process(const spec& s, std::uint16_t port) {
  shared_bytes_ = client_report::bytes_for(s);
  owned_fd results{::memfd_create("cmbench-echo-results", MFD_CLOEXEC)};
  if (results.fd < 0) fail("memfd_create");
  if (::ftruncate(results.fd, static_cast<off_t>(shared_bytes_)) != 0)
    fail("ftruncate of the echo client's results");
  void* map = ::mmap(nullptr, shared_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, results.fd, 0);
  if (map == MAP_FAILED) fail("mmap of the echo client's results");
  shared_ = map;
  new (shared_) client_report();  // the latencies are the client's to mark unmeasured (client.cpp)

  int go[2], status[2];
  if (::pipe2(go, O_CLOEXEC) != 0) fail("pipe");
  owned_fd go_read{go[0]};
  go_fd_ = go[1];
  if (::pipe2(status, O_CLOEXEC) != 0) fail("pipe");
  owned_fd status_write{status[1]};
  status_fd_ = status[0];

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 clears close-on-exec on the new descriptor; every other descriptor of ours has it set.
  posix_spawn_file_actions_adddup2(&actions, go_read.fd, 0);
  posix_spawn_file_actions_adddup2(&actions, results.fd, client_report::results_fd);
  posix_spawn_file_actions_adddup2(&actions, status_write.fd, client_report::status_fd);
  std::vector<std::string> args{client_program,
                                "--connections=" + std::to_string(s.connections),
                                "--requests=" + std::to_string(s.requests),
                                "--bytes=" + std::to_string(s.bytes),
                                "--rate=" + std::to_string(s.rate),
                                "--faults=" + std::to_string(s.faults),
                                "--idle-timeout-ms=" + std::to_string(s.idle_timeout_ms),
                                "--port=" + std::to_string(port)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int e = ::posix_spawn(&pid, client_program, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (e != 0)
    throw std::system_error(e, std::generic_category(),
                            std::string("starting the echo client ") + client_program);
  pid_ = pid;
  close_fd(status_write.fd);  // so that the child's end is the only one: its exit is end of file
  if (read_status(status_fd_) != 'R') {
    close_fd(go_fd_);
    const std::string how = how_it_ended(pid_);
    throw std::runtime_error("the echo client process did not start (" + how + ")");
  }
}

client::~client() {
  release();
}

void client::release() noexcept {
  close_fd(go_fd_);  // a client never started sees end of file and ends
  // Started and not waited for: the run failed, and the client may wait for the server forever.
  if (pid_ > 0 && watcher_.joinable() && !ended()) ::kill(pid_, SIGKILL);
  if (watcher_.joinable()) watcher_.join();
  reap();
  close_fd(status_fd_);
  if (shared_) ::munmap(shared_, shared_bytes_);
  shared_ = nullptr;
}

void client::start(std::function<void()> on_failure) {
  const char g = 'G';
  if (::write(go_fd_, &g, 1) != 1) fail("starting the echo client");
  close_fd(go_fd_);
  watcher_ = std::thread([this, f = std::move(on_failure)] { watch(f); });
}

void client::watch(std::function<void()> on_failure) {
  const char c = read_status(status_fd_);
  if (c == 'D') {  // the process ends by itself; the destructor collects it, outside the run
    error_ = static_cast<const client_report*>(shared_)->error;
  } else {
    error_ = "the client process ended without its report (" + how_it_ended(pid_) + ")";
  }
  ended_.store(true, std::memory_order_release);
  if (!error_.empty() && on_failure) on_failure();
}

void client::wait() {
  if (watcher_.joinable()) watcher_.join();
  close_fd(status_fd_);
}

void client::reap() noexcept {
  if (pid_ <= 0) return;
  int st = 0;
  while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

std::uint64_t client::verified() const {
  return static_cast<const client_report*>(shared_)->verified;
}
bool client::garbage_echoed() const {
  return static_cast<const client_report*>(shared_)->garbage_echoed != 0;
}
std::int64_t client::stall_ended_after_ns() const {
  return static_cast<const client_report*>(shared_)->stall_ended_after_ns;
}
std::int64_t client::stall_since_sent_ns() const {
  return static_cast<const client_report*>(shared_)->stall_since_sent_ns;
}
const std::string& client::error() const {
  return error_;
}
std::span<const std::int64_t> client::latency_ns() const {
  return {static_cast<client_report*>(shared_)->latency_ns(), requests_};
}

}  // namespace cmbench::echo
