// The echo workload's listener, check and cells; the servers are in the files named after their
// model, the client in client.cpp.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>
#include <system_error>
#include <thread>

#include "bench/echo/socket.hpp"
#include "bench/echo/spec.hpp"
#include "bench/harness/resident_memory.hpp"
#include "models/tbb/suspend_budget.hpp"
#include "models/threads/thread_budget.hpp"

namespace cmbench::echo {

listener::listener(std::uint64_t backlog) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;  // the kernel picks a free port
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  // The kernel caps the backlog at net.core.somaxconn; the client keeps below that (client.cpp).
  const int queue = static_cast<int>(std::min<std::uint64_t>(backlog, 65535));
  if (::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd_, queue) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int e = errno;
    ::close(fd_);
    throw std::system_error(e, std::generic_category(), "listen on 127.0.0.1");
  }
  port_ = ntohs(addr.sin_port);
}

listener::~listener() {
  ::close(fd_);
}

void listener::stop_accepting() noexcept {
  ::shutdown(fd_, SHUT_RDWR);
}

std::vector<std::string> descriptor_listing_once() {
  std::vector<std::string> out;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return out;
  const std::string own = std::to_string(::dirfd(d));
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.' || e->d_name == own) continue;
    char target[256];
    const std::string path = std::string("/proc/self/fd/") + e->d_name;
    const ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
    if (n < 0 && errno == ENOENT) continue;  // closed since readdir saw it
    out.push_back(std::string(e->d_name) + " -> " +
                  (n < 0 ? std::string("?") : std::string(target, static_cast<std::size_t>(n))));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

// Other threads may hold a descriptor for a moment while the list is read: the sanitizers'
// runtime probes memory through a pipe it opens and closes at once (a thread starting up under
// ASan makes several), and a runtime's worker may be starting. Such a descriptor is in one
// listing, not in two taken a millisecond apart (a new pipe or socket has a new inode, so two
// brief ones never look alike), so a listing counts when the next one agrees with it.
std::vector<std::string> settled_listing(
    const std::function<std::vector<std::string>()>& list_once, std::chrono::nanoseconds gap,
    int tries) {
  std::vector<std::string> last = list_once();
  for (int t = 0; t < tries; ++t) {
    std::this_thread::sleep_for(gap);
    std::vector<std::string> next = list_once();
    if (next == last) break;
    last = std::move(next);
  }
  return last;
}

std::vector<std::string> descriptor_list() {
  return settled_listing(descriptor_listing_once, std::chrono::milliseconds(1), 100);
}

std::uint64_t open_descriptors() {
  return descriptor_list().size();
}

std::optional<std::string> descriptor_refusal(std::uint64_t connections) {
  // The server's end of every connection, the listener, epoll and the process's own; the client
  // process needs as many.
  const rlim_t needed = connections + 256;
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return std::string("getrlimit: ") + std::strerror(errno);
  if (lim.rlim_cur >= needed) return std::nullopt;
  rlimit raised = lim;
  raised.rlim_cur = needed;
  if (raised.rlim_max < needed) raised.rlim_max = needed;  // allowed with CAP_SYS_RESOURCE
  if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) return std::nullopt;
  if (lim.rlim_max >= needed) {
    raised.rlim_max = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) return std::nullopt;
  }
  return std::to_string(connections) + " connections need " + std::to_string(needed) +
         " file descriptors in each of the server's and the client's process; RLIMIT_NOFILE is " +
         std::to_string(lim.rlim_cur) + " (hard " + std::to_string(lim.rlim_max) +
         ") and could not be raised: " + std::strerror(errno) + " (raise it with ulimit -n)";
}

check_result check(const spec& s, const server_stats& stats, const run_result& r,
                   latency_histogram& lat) {
  check_result c;
  c.units = stats.units.load();
  c.items = r.verified;
  const std::uint64_t requests = s.connections * s.requests;
  const std::uint64_t served = served_connections(s);
  // Bytes the server must have echoed: every request, and with faults the garbage peer's 64 and
  // the stalled peer's half request; the resetting peer's half may or may not have been read.
  const std::uint64_t half = fault_half_request_bytes(s);
  const std::uint64_t echoed_least =
      requests * s.bytes + (s.faults ? fault_garbage_bytes + half : 0);
  const std::uint64_t echoed_most = echoed_least + (s.faults ? half : 0);
  const std::uint64_t errors_allowed = s.faults ? 1 : 0;  // the reset, if it was seen as one
  const std::uint64_t timed_out = s.faults ? 1 : 0;       // the stalled peer
  auto count = [](std::uint64_t n, const char* what) {
    return std::to_string(n) + " " + what;
  };
  const std::uint64_t echoed = stats.bytes_echoed.load();
  if (!r.client_error.empty()) {
    c.error = "client: " + r.client_error;
  } else if (r.verified != requests) {
    c.error = "expected " + count(requests, "verified replies") + ", got " + std::to_string(r.verified);
  } else if (stats.accepted.load() != served) {
    c.error = "the server accepted " + count(stats.accepted.load(), "connections") + " of " +
              std::to_string(served);
  } else if (stats.closed.load() != served) {
    c.error = "the server closed " + count(stats.closed.load(), "connections") + " of " +
              std::to_string(served);
  } else if (stats.errors.load() > errors_allowed) {
    c.error = "the server saw a socket error on " + count(stats.errors.load(), "connections");
  } else if (stats.timed_out.load() != timed_out) {
    c.error = "the server's idle timeout ended " + count(stats.timed_out.load(), "connections") +
              ", expected " + std::to_string(timed_out);
  } else if (echoed < echoed_least || echoed > echoed_most) {
    c.error = "the server echoed " + count(echoed, "bytes") + ", expected " +
              (echoed_least == echoed_most
                   ? std::to_string(echoed_least)
                   : std::to_string(echoed_least) + " to " + std::to_string(echoed_most));
  } else if (c.units != served) {
    c.error = "the server started " + count(c.units, "connection handlers") + " for " +
              count(served, "connections");
  } else if (s.faults && !r.garbage_echoed) {
    c.error = "the garbage peer did not get its bytes back";
  } else if (s.faults && r.stall_ended_after_ns < 0) {
    c.error = "the stalled peer's connection was not ended by the server";
  } else if (s.faults &&
             r.stall_since_sent_ns < static_cast<std::int64_t>(s.idle_timeout_ms) * 1'000'000) {
    c.error = "the stalled peer's connection was ended " +
              std::to_string(r.stall_since_sent_ns / 1'000'000) +
              " ms after its last bytes were sent, before the idle timeout of " +
              std::to_string(s.idle_timeout_ms) + " ms";
  } else if (r.descriptors_after != r.descriptors_before) {
    c.error = "file descriptors open: " + std::to_string(r.descriptors_before) + " before the run, " +
              std::to_string(r.descriptors_after) + " after it (a connection was left open)";
    for (std::size_t i = 0; i < r.descriptors_added.size(); ++i)
      c.error += (i == 0 ? "; new: " : ", ") + r.descriptors_added[i];
  }
  if (!c.error.empty()) return c;
  for (std::int64_t ns : r.latency_ns) {
    if (ns < 0) {
      c.error = "a request has no recorded latency";
      return c;
    }
    lat.record(static_cast<std::uint64_t>(ns));
  }
  return c;
}

namespace {

// The idle timeout of the cells with fault peers: the stalled peer holds its connection this
// long. Long enough that no healthy connection of the load goes this quiet on a busy 2-core
// machine, short enough to keep a cell's iterations well under a second.
constexpr std::uint64_t fault_idle_timeout_ms = 250;

struct iteration {
  iteration(model& m, const spec& s) : m(m), s(s), served(with_fault_peers(s)) {}
  model& m;
  const spec s;
  const spec served;  // what the server is asked to serve: the load and the fault peers
  std::unique_ptr<server_stats> stats;
  std::unique_ptr<idle_reaper> reaper;
  std::unique_ptr<listener> listening;
  std::unique_ptr<client> load;
  std::vector<std::string> descriptors_before;
  // What the last checked run's fault peers met, for the cell's counters.
  std::uint64_t last_errors = 0, last_timed_out = 0;
  std::int64_t last_stall_ns = -1;

  static spec with_fault_peers(spec s) {
    s.connections = served_connections(s);
    return s;
  }
  void warm_up() {
    const spec tiny{2, 2, s.bytes, 0};
    server_stats tiny_stats;
    idle_reaper tiny_reaper(tiny.connections, std::chrono::milliseconds(tiny.idle_timeout_ms));
    listener l(tiny.connections);
    client c(tiny, l.port());
    memory_probe off;
    c.start();
    m.serve(l.fd(), tiny, tiny_stats, off, tiny_reaper);
    c.wait();
  }
  void prepare() {
    load.reset();
    listening.reset();
    reaper.reset();
    // The memory probe keeps /proc/self/statm open from its first reading on: take that first
    // reading now, so that the descriptor is not counted as left open by the first run.
    (void)resident_bytes();
    descriptors_before = descriptor_list();
    stats = std::make_unique<server_stats>();
    reaper = std::make_unique<idle_reaper>(served.connections,
                                           std::chrono::milliseconds(s.idle_timeout_ms));
    listening = std::make_unique<listener>(served.connections);
    load = std::make_unique<client>(s, listening->port());
  }
  void execute(memory_probe& probe) {
    // A client that fails (one that cannot connect, say) leaves the server waiting in accept:
    // stop it, and say what the client met.
    load->start([l = listening.get()] { l->stop_accepting(); });
    try {
      m.serve(listening->fd(), served, *stats, probe, *reaper);
    } catch (const std::exception& e) {
      if (!load->ended()) throw;
      load->wait();
      throw std::runtime_error("client: " + load->error() + " (the server, stopped: " + e.what() +
                               ")");
    }
    load->wait();
  }
  check_result check(latency_histogram& lat) {
    listening.reset();
    reaper.reset();
    run_result r;
    r.verified = load->verified();
    r.client_error = load->error();
    r.latency_ns = load->latency_ns();
    r.garbage_echoed = load->garbage_echoed();
    r.stall_ended_after_ns = load->stall_ended_after_ns();
    r.stall_since_sent_ns = load->stall_since_sent_ns();
    const std::vector<std::string> after = descriptor_list();
    r.descriptors_before = descriptors_before.size();
    r.descriptors_after = after.size();
    if (r.descriptors_after != r.descriptors_before)
      std::set_difference(after.begin(), after.end(), descriptors_before.begin(),
                          descriptors_before.end(), std::back_inserter(r.descriptors_added));
    last_errors = stats->errors.load();
    last_timed_out = stats->timed_out.load();
    last_stall_ns = r.stall_ended_after_ns;
    return echo::check(s, *stats, r, lat);
  }
  // The fault cells say what the server did with the fault peers: connections that ended in a
  // socket error (the reset, when it is seen as one), connections its idle timeout ended, and
  // how long the stalled peer was held after its echo.
  void report(benchmark::State& state, const timed_totals&) const {
    if (!s.faults) return;
    state.counters["fault_errors"] = benchmark::Counter(static_cast<double>(last_errors));
    state.counters["fault_timed_out"] = benchmark::Counter(static_cast<double>(last_timed_out));
    state.counters["stall_ended_ms"] = benchmark::Counter(static_cast<double>(last_stall_ns) / 1e6);
  }
};

cell make_cell(const cell_env& env, const char* name,
               std::unique_ptr<model> (*make)(const cell_env&), const spec& s) {
  std::vector<std::pair<std::string, param_value>> params{{"connections", s.connections},
                                                            {"requests", s.requests},
                                                            {"bytes", s.bytes},
                                                            {"rate", s.rate}};
  if (s.faults) {
    params.emplace_back("faults", s.faults);
    params.emplace_back("idle_timeout_ms", s.idle_timeout_ms);
  }
  cell c = cmbench::make_cell<iteration>("echo", name, std::move(params), env, make, s);
  c.skip_reason = descriptor_refusal(served_connections(s));
  return c;
}

void add_cells(std::vector<cell>& out, const cell_env& env, const spec& s) {
  out.push_back(make_cell(env, "sync", make_sync, s));

  cell threads = make_cell(env, "threads", make_threads, s);
  if (!threads.skip_reason)
    threads.skip_reason =
        threads_model::thread_budget_refusal(served_connections(s), env.max_threads);
  out.push_back(std::move(threads));

  // oneTBB twice: readiness from a poller thread (tbb) or polled by a task in the arena
  // (tbb_polling); neither is best on every metric (README, echo).
  using maker = std::unique_ptr<model> (*)(const cell_env&);
  const std::pair<const char*, maker> tbb_models[] = {{"tbb", make_tbb},
                                                      {"tbb_polling", make_tbb_polling}};
  for (const auto& [name, make] : tbb_models) {
    cell tbb = make_cell(env, name, make, s);
    if (!tbb.skip_reason)
      tbb.skip_reason = tbb_model::suspend_budget_refusal(served_connections(s) + 1);
    out.push_back(std::move(tbb));
  }

  out.push_back(make_cell(env, "fibers", make_fibers, s));
  out.push_back(make_cell(env, "coro", make_coro, s));
}

}  // namespace

std::vector<cell> cells(const cell_env& env) {
  std::vector<cell> out;
  const profile& p = env.prof;
  // Every cell makes about the same number of requests, at least two per connection.
  auto per_connection = [](std::uint64_t requests, std::uint64_t connections) {
    return std::max<std::uint64_t>(2, requests / connections);
  };
  for (std::uint64_t c : p.echo_connections)
    add_cells(out, env, {c, per_connection(p.echo_requests, c), p.echo_bytes, 0});
  for (std::uint64_t c : p.echo_open_loop_connections)
    add_cells(out, env,
              {c, per_connection(p.echo_open_loop_requests, c), p.echo_bytes, p.echo_rate});
  for (std::uint64_t c : p.echo_fault_connections)
    add_cells(out, env,
              {c, per_connection(p.echo_requests, c), p.echo_bytes, 0, 1, fault_idle_timeout_ms});
  return out;
}

}  // namespace cmbench::echo
