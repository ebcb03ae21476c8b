// cmbench-echo-client: the echo workload's client, run by echo::client (client_process.cpp) as a
// process of its own. Descriptors it is handed: 0, the go pipe (a byte 'G' starts the run; end of
// file ends the process); 3, the shared results (client_report, then each request's latency);
// 4, the status pipe ('R' once the connections' buffers are ready and the threads wait, 'D' once
// every connection is done and the report is written).
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <thread>

#include "bench/echo/client_report.hpp"
#include "bench/echo/load_generator.hpp"

using namespace cmbench::echo;

namespace {

bool parse(const char* arg, const char* name, std::uint64_t& out) {
  const std::size_t n = std::strlen(name);
  if (std::strncmp(arg, name, n) != 0 || arg[n] != '=') return false;
  char* end = nullptr;
  out = std::strtoull(arg + n + 1, &end, 10);
  return end != arg + n + 1 && *end == '\0';
}

bool put(char c) {
  return ::write(client_report::status_fd, &c, 1) == 1;
}

}  // namespace

int main(int argc, char** argv) {
  // The benchmark process may be ended by its watchdog: this process goes with it.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  spec s{};
  std::uint64_t port = 0;
  int given = 0;
  for (int i = 1; i < argc; ++i) {
    given += parse(argv[i], "--connections", s.connections) ||
             parse(argv[i], "--requests", s.requests) || parse(argv[i], "--bytes", s.bytes) ||
             parse(argv[i], "--rate", s.rate) || parse(argv[i], "--faults", s.faults) ||
             parse(argv[i], "--idle-timeout-ms", s.idle_timeout_ms) ||
             parse(argv[i], "--port", port);
  }
  if (given != argc - 1 || given != 7 || s.faults > 1 || s.connections == 0 || s.requests == 0 ||
      s.bytes == 0 || port == 0 || port > 65535) {
    std::fprintf(stderr,
                 "usage: cmbench-echo-client --connections=N --requests=N --bytes=N --rate=N "
                 "--faults=0|1 --idle-timeout-ms=N --port=N (started by cmbench, with "
                 "descriptors 0, 3 and 4 set up)\n");
    return 2;
  }
  const std::size_t size = client_report::bytes_for(s);
  void* shared =
      ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, client_report::results_fd, 0);
  if (shared == MAP_FAILED) {
    std::perror("cmbench-echo-client: mmap of the results");
    return 1;
  }
  auto* report = static_cast<client_report*>(shared);
  try {
    load_generator gen(s, static_cast<std::uint16_t>(port), report->latency_ns());
    if (!put('R')) return 1;
    char go = 0;
    if (::read(0, &go, 1) != 1 || go != 'G') return 0;  // the run was called off
    fault_outcome faults;
    std::thread fault_thread;
    if (s.faults)
      fault_thread =
          std::thread([&] { faults = run_fault_peers(s, static_cast<std::uint16_t>(port)); });
    gen.start();
    gen.wait();
    if (fault_thread.joinable()) fault_thread.join();
    report->verified = gen.verified();
    report->garbage_echoed = faults.garbage_echoed ? 1 : 0;
    report->stall_ended_after_ns = faults.stall_ended_after_ns;
    report->stall_since_sent_ns = faults.stall_since_sent_ns;
    const std::string& error = gen.error().empty() ? faults.error : gen.error();
    std::snprintf(report->error, sizeof report->error, "%s", error.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cmbench-echo-client: %s\n", e.what());
    return 1;
  }
  return put('D') ? 0 : 1;
}
