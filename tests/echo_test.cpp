// The echo workload: every model echoes every request byte for byte at small sizes, closed and
// open loop, with 1-3 workers; the open-loop pacer keeps to its schedule and measures from it;
// a server survives clients that break off mid-request or send arbitrary bytes; and the check
// rejects every kind of wrong run.
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/echo/socket.hpp"
#include "bench/echo/spec.hpp"
#include "tests/echo_run.hpp"
#include "tests/finishes_within.hpp"
#include "tests/workload_models.hpp"

using namespace cmbench;
using namespace cmbench::echo;

namespace {

using maker = std::unique_ptr<model> (*)(const cell_env&);
maker make_for(const std::string& name) {
  if (name == "tbb_polling") return make_tbb_polling;
  return test_support::model_factory<maker>(name, make_sync, make_threads, make_tbb, make_fibers,
                                            make_coro);
}

int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

}  // namespace

class EchoModels : public ::testing::TestWithParam<std::string> {};

TEST_P(EchoModels, EchoesEveryRequestByteForByte) {
  const std::string name = GetParam();
  for (unsigned workers : {1u, 2u, 3u}) {
    auto m = make_for(name)(test_support::smoke_env(workers));
    // One connection; many; requests bigger than the server's buffer (echoed in pieces); an
    // open-loop run. The model and its runtime are reused, as the benchmark's iterations do.
    for (const spec s : {spec{1, 3, 64}, spec{40, 10, 100}, spec{3, 4, 3 * server_buffer_bytes + 7},
                         spec{8, 5, 64, 20000}}) {
      const std::string cell = name + " workers=" + std::to_string(workers) +
                               " connections=" + std::to_string(s.connections) +
                               " requests=" + std::to_string(s.requests) +
                               " bytes=" + std::to_string(s.bytes) + " rate=" + std::to_string(s.rate);
      test_support::finishes_within(std::chrono::seconds(30), "echo " + cell, [&] {
        const outcome o = run_once(*m, s);
        EXPECT_EQ(o.checked.error, "") << cell;
        EXPECT_EQ(o.checked.units, s.connections) << cell;
        EXPECT_EQ(o.checked.items, s.connections * s.requests) << cell;
        EXPECT_EQ(o.lat.count(), s.connections * s.requests) << cell;
      });
    }
  }
}

// A connection that breaks off halfway through a request, and one that sends bytes no client
// of ours would and reads them back: the server finishes both and goes on serving a normal
// client; the next run on the same runtime is clean.
TEST_P(EchoModels, SurvivesAClientThatDisconnectsMidRequest) {
  const std::string name = GetParam();
  auto m = make_for(name)(test_support::smoke_env(2));
  test_support::finishes_within(std::chrono::seconds(30), "echo faults " + name, [&] {
    const spec normal{4, 20, 64};
    spec served = normal;
    served.connections += 2;
    server_stats stats;
    idle_reaper reaper(served.connections, std::chrono::seconds(10));
    listener l(served.connections);
    client c(normal, l.port());
    memory_probe probe;
    std::thread server([&] { m->serve(l.fd(), served, stats, probe, reaper); });

    const int broken = connect_to(l.port());
    const char half[10] = "half a re";
    ASSERT_EQ(::send(broken, half, sizeof half, MSG_NOSIGNAL), 10);
    linger hard{1, 0};  // close with a reset, as a crashed client does
    ::setsockopt(broken, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    ::close(broken);

    const int odd = connect_to(l.port());
    const unsigned char garbage[5] = {0x00, 0xff, 0x0d, 0x0a, 0x80};
    ASSERT_EQ(::send(odd, garbage, sizeof garbage, MSG_NOSIGNAL), 5);
    unsigned char back[5] = {};
    std::size_t got = 0;
    while (got < sizeof back) {
      const ssize_t n = ::recv(odd, back + got, sizeof back - got, 0);
      ASSERT_GT(n, 0);
      got += static_cast<std::size_t>(n);
    }
    EXPECT_EQ(std::memcmp(back, garbage, sizeof back), 0);
    ::close(odd);

    c.start();
    c.wait();
    server.join();
    EXPECT_EQ(c.error(), "");
    EXPECT_EQ(c.verified(), normal.connections * normal.requests);
    EXPECT_EQ(stats.accepted.load(), served.connections);
    EXPECT_EQ(stats.closed.load(), served.connections);
    EXPECT_LE(stats.errors.load(), 1u);  // the reset, if it arrived before the echo

    const outcome next = run_once(*m, {3, 5, 64});
    EXPECT_EQ(next.checked.error, "") << name;
  });
}

// The fault cells' peers (protocol.hpp) beside a normal load, on 1 and 2 workers: a reset
// mid-request, garbage echoed back, and a stalled peer the idle timeout ends, never before it;
// every request of the load still verified, and the runtime serves a clean run next.
TEST_P(EchoModels, ServesTheFaultPeersAndEndsTheStalledOne) {
  const std::string name = GetParam();
  for (unsigned workers : {1u, 2u}) {
    auto m = make_for(name)(test_support::smoke_env(workers));
    // The cells' idle timeout: shorter, and a slow build on a busy machine could leave a healthy
    // connection of the load that quiet.
    const spec s{6, 20, 64, 0, /*faults=*/1, /*idle_timeout_ms=*/250};
    const std::string cell = name + " workers=" + std::to_string(workers);
    test_support::finishes_within(std::chrono::seconds(60), "echo fault peers " + cell, [&] {
      const outcome o = run_once(*m, s);
      EXPECT_EQ(o.checked.error, "") << cell;
      EXPECT_EQ(o.checked.items, s.connections * s.requests) << cell;
      EXPECT_EQ(o.checked.units, s.connections + fault_peers) << cell;
      EXPECT_EQ(o.timed_out, 1u) << cell;
      EXPECT_LE(o.errors, 1u) << cell;
      EXPECT_GE(o.stall_since_sent_ns, 250'000'000) << cell;  // never before the timeout
      EXPECT_GT(o.stall_ended_after_ns, 0) << cell;
      const outcome next = run_once(*m, {3, 5, 64});
      EXPECT_EQ(next.checked.error, "") << cell;
      EXPECT_EQ(next.timed_out, 0u) << cell;
    });
  }
}

// A client that cannot connect at all (nobody listens on its port) would leave the server
// waiting in accept: the cell stops it when the client ends with an error, and every model then
// returns, with the accept error, instead of hanging.
TEST_P(EchoModels, StopsWaitingForAClientThatCannotConnect) {
  const std::string name = GetParam();
  auto m = make_for(name)(test_support::smoke_env(2));
  test_support::finishes_within(std::chrono::seconds(30), "echo unreachable client " + name, [&] {
    std::uint16_t dead_port;
    {
      listener gone(1);
      dead_port = gone.port();
    }
    const spec s{3, 2, 64};
    server_stats stats;
    idle_reaper reaper(s.connections, std::chrono::seconds(10));
    listener l(s.connections);
    client c(s, dead_port);
    memory_probe probe;
    c.start([&] { l.stop_accepting(); });
    EXPECT_THROW(m->serve(l.fd(), s, stats, probe, reaper), std::exception) << name;
    c.wait();
    EXPECT_NE(c.error().find("connect"), std::string::npos) << c.error();
    EXPECT_EQ(stats.accepted.load(), 0u);
  });
}

INSTANTIATE_TEST_SUITE_P(All, EchoModels,
                         ::testing::Values("sync", "threads", "tbb", "tbb_polling", "fibers",
                                           "coro"));

namespace {
// A server that echoes like sync but stops for `stall` once, before replying to the request
// `at` of the first connection: the stall a tail latency must show.
class stalling_server final : public model {
 public:
  stalling_server(std::uint64_t at, std::chrono::milliseconds stall) : at_(at), stall_(stall) {}
  void serve(int listener, const spec& s, server_stats& stats, memory_probe& probe,
             idle_reaper&) override {
    for (std::uint64_t i = 0; i < s.connections; ++i) {
      const int fd = accept_counted(listener, false, stats);
      stats.units.fetch_add(1);
      probe.unit_started();
      std::vector<char> buf(s.bytes);
      for (std::uint64_t r = 0;; ++r) {
        std::size_t got = 0;
        while (got < s.bytes) {
          std::size_t n = 0;
          if (receive_some(fd, buf.data() + got, s.bytes - got, n) != io::done) break;
          got += n;
        }
        if (got < s.bytes) break;
        if (i == 0 && r == at_) std::this_thread::sleep_for(stall_);
        std::size_t sent = 0;
        ASSERT_EQ(send_some(fd, buf.data(), s.bytes, sent), io::done);
        ASSERT_EQ(sent, s.bytes);
        stats.bytes_echoed.fetch_add(s.bytes);
      }
      finish_connection(fd, false, stats);
      probe.unit_finished();
    }
  }

 private:
  std::uint64_t at_;
  std::chrono::milliseconds stall_;
};
}  // namespace

TEST(EchoPacer, SendsNoRequestBeforeItsIntendedTime) {
  // 4 connections, 10 requests each, at 2000 requests/s: the last request is due 19.5 ms after
  // the schedule starts, so no run can take less, however fast the server.
  auto m = make_sync({});
  const outcome o = run_once(*m, {4, 10, 64, 2000});
  ASSERT_EQ(o.checked.error, "");
  EXPECT_GE(o.wall_s, 0.0195);
}

TEST(EchoPacer, MeasuresFromTheIntendedSendTimeSoAStallShowsInEveryDelayedRequest) {
  // One connection, 1 request per ms; the server stalls 40 ms at request 5. Closed loop, only
  // that request waits the 40 ms. Open loop, every request due during the stall is late by what
  // is left of it: requests 5..44 intended at 5..44 ms all go out after 45 ms, so at least 20 of
  // them are 20 ms or more late.
  const auto stall = std::chrono::milliseconds(40);
  auto late_by = [](const outcome& o, std::int64_t ns) {
    std::uint64_t n = 0;
    for (std::int64_t v : o.latency_ns) n += v >= ns ? 1 : 0;
    return n;
  };
  stalling_server open_server(5, stall);
  const outcome open = run_once(open_server, {1, 60, 64, 1000});
  ASSERT_EQ(open.checked.error, "");
  EXPECT_GE(late_by(open, 20'000'000), 20u);

  stalling_server closed_server(5, stall);
  const outcome closed = run_once(closed_server, {1, 60, 64, 0});
  ASSERT_EQ(closed.checked.error, "");
  EXPECT_GE(closed.latency_ns[5], 40'000'000);
}

TEST(EchoCheck, RejectsEveryKindOfWrongRun) {
  const spec s{3, 4, 10};
  std::vector<std::int64_t> lat(12, 1000);
  auto good_stats = [&](server_stats& st) {
    st.accepted = 3;
    st.closed = 3;
    st.units = 3;
    st.bytes_echoed = 120;
  };
  auto verdict = [&](auto&& tamper) {
    server_stats st;
    good_stats(st);
    run_result r;
    r.verified = 12;
    r.latency_ns = lat;
    r.descriptors_before = r.descriptors_after = 7;
    tamper(st, r);
    latency_histogram h;
    return check(s, st, r, h).error;
  };
  EXPECT_EQ(verdict([](server_stats&, run_result&) {}), "");
  EXPECT_NE(verdict([](server_stats&, run_result& r) { r.client_error = "x"; }), "");
  EXPECT_NE(verdict([](server_stats&, run_result& r) { r.verified = 11; }), "");
  EXPECT_NE(verdict([](server_stats& st, run_result&) { st.accepted = 2; }), "");
  EXPECT_NE(verdict([](server_stats& st, run_result&) { st.closed = 2; }), "");
  EXPECT_NE(verdict([](server_stats& st, run_result&) { st.errors = 1; }), "");
  EXPECT_NE(verdict([](server_stats& st, run_result&) { st.bytes_echoed = 119; }), "");
  EXPECT_NE(verdict([](server_stats& st, run_result&) { st.units = 2; }), "");
  EXPECT_NE(verdict([](server_stats&, run_result& r) { r.descriptors_after = 8; }), "");
  EXPECT_NE(verdict([&](server_stats&, run_result&) { lat[3] = -1; }), "");
  // A descriptor left open is named, so that a rare leak says what it was.
  EXPECT_EQ(verdict([](server_stats&, run_result& r) {
              r.descriptors_after = 8;
              r.descriptors_added = {"9 -> socket:[4242]"};
            }),
            "file descriptors open: 7 before the run, 8 after it (a connection was left open); "
            "new: 9 -> socket:[4242]");
}

TEST(EchoDescriptors, TheListNamesEachOpenDescriptorAndCountsAsTheCount) {
  const std::vector<std::string> before = descriptor_list();
  EXPECT_EQ(before.size(), open_descriptors());
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  const std::vector<std::string> after = descriptor_list();
  ::close(fd);
  EXPECT_EQ(after.size(), before.size() + 1);
  const std::string mine = std::to_string(fd) + " -> socket:[";
  EXPECT_TRUE(std::any_of(after.begin(), after.end(),
                          [&](const std::string& d) { return d.rfind(mine, 0) == 0; }))
      << mine;
  EXPECT_EQ(descriptor_list(), before);
}

// A descriptor another thread holds for a moment (as the sanitizers' runtime does with the pipe
// it probes memory through) is not a leak and not a descriptor closed by the run: it is in one
// listing and not in the next, and the list leaves it out. Here the pipe is closed right after the
// first real listing, the moment a churning thread would close it, so the test does not depend on
// how the machine schedules threads.
TEST(EchoDescriptors, TheListLeavesOutADescriptorClosedBetweenTwoListings) {
  const std::vector<std::string> quiet = descriptor_list();
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  int listings = 0;
  const std::vector<std::string> listed = settled_listing(
      [&] {
        std::vector<std::string> l = descriptor_listing_once();
        if (++listings == 1) {
          ::close(p[0]);
          ::close(p[1]);
        }
        return l;
      },
      std::chrono::microseconds(0), 100);
  EXPECT_EQ(listings, 3);  // with the pipe, without it, and the one that agrees
  EXPECT_EQ(listed, quiet);
}

TEST(EchoDescriptors, TheListKeepsADescriptorThatStaysOpen) {
  const std::vector<std::string> quiet = descriptor_list();
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  int listings = 0;
  const std::vector<std::string> listed = settled_listing(
      [&] {
        ++listings;
        return descriptor_listing_once();
      },
      std::chrono::microseconds(0), 100);
  ::close(p[0]);
  ::close(p[1]);
  EXPECT_EQ(listings, 2);
  EXPECT_EQ(listed.size(), quiet.size() + 2);
}

// Listings that never agree (descriptors churning faster than the gap) end after `tries` more:
// the list is bounded in time, and says what the last listing saw.
TEST(EchoDescriptors, TheListGivesUpOnListingsThatNeverAgree) {
  int listings = 0;
  const std::vector<std::string> listed = settled_listing(
      [&] { return std::vector<std::string>{std::to_string(++listings) + " -> pipe:[1]"}; },
      std::chrono::microseconds(0), 7);
  EXPECT_EQ(listings, 8);
  EXPECT_EQ(listed, std::vector<std::string>{"8 -> pipe:[1]"});
}

TEST(EchoCheck, WithFaultsRejectsEveryKindOfWrongOutcome) {
  const spec s{3, 4, 10, 0, /*faults=*/1, /*idle_timeout_ms=*/100};
  std::vector<std::int64_t> lat(12, 1000);
  auto verdict = [&](auto&& tamper) {
    server_stats st;
    st.accepted = 6;
    st.closed = 6;
    st.units = 6;
    st.errors = 1;
    st.timed_out = 1;
    st.bytes_echoed = 120 + 64 + 5;  // the load, the garbage, the stalled peer's half
    run_result r;
    r.verified = 12;
    r.latency_ns = lat;
    r.descriptors_before = r.descriptors_after = 7;
    r.garbage_echoed = true;
    r.stall_ended_after_ns = 119'000'000;
    r.stall_since_sent_ns = 120'000'000;
    tamper(st, r);
    latency_histogram h;
    return check(s, st, r, h).error;
  };
  EXPECT_EQ(verdict([](server_stats&, run_result&) {}), "");
  EXPECT_EQ(verdict([](server_stats& st, run_result&) { st.errors = 0; }),
            "");  // reset seen as EOF
  EXPECT_EQ(verdict([](server_stats& st, run_result&) { st.bytes_echoed += 5; }),
            "");  // reset's half
  EXPECT_NE(verdict([](server_stats& st, run_result&) { st.bytes_echoed += 6; }), "");
  EXPECT_NE(verdict([](server_stats& st, run_result&) { st.bytes_echoed -= 1; }), "");
  EXPECT_NE(verdict([](server_stats& st, run_result&) { st.errors = 2; }), "");
  EXPECT_NE(verdict([](server_stats& st, run_result&) { st.timed_out = 0; }), "");
  EXPECT_NE(verdict([](server_stats& st, run_result&) { st.timed_out = 2; }), "");
  EXPECT_NE(verdict([](server_stats& st, run_result&) { st.accepted = 5; }), "");
  EXPECT_NE(verdict([](server_stats& st, run_result&) { st.units = 3; }), "");
  EXPECT_NE(verdict([](server_stats&, run_result& r) { r.garbage_echoed = false; }), "");
  EXPECT_NE(verdict([](server_stats&, run_result& r) { r.stall_ended_after_ns = -1; }), "");
  EXPECT_NE(verdict([](server_stats&, run_result& r) { r.stall_since_sent_ns = 99'000'000; }), "");
}

// Without faults, a connection the idle timeout ended fails the cell.
TEST(EchoCheck, RejectsATimedOutConnectionWithoutFaults) {
  const spec s{1, 1, 10};
  std::vector<std::int64_t> lat(1, 1000);
  server_stats st;
  st.accepted = st.closed = st.units = st.timed_out = 1;
  st.bytes_echoed = 10;
  run_result r;
  r.verified = 1;
  r.latency_ns = lat;
  latency_histogram h;
  EXPECT_NE(check(s, st, r, h).error, "");
}

// The idle timeout, alone: of two attached connections, the one that moves nothing is shut down
// (its peer sees end of file), never before the timeout; the one that keeps moving is left alone.
TEST(EchoIdleReaper, EndsAQuietConnectionNeverEarlyAndSparesABusyOne) {
  int quiet[2], busy[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, quiet), 0);
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, busy), 0);
  const auto timeout = std::chrono::milliseconds(200);
  {
    idle_reaper reaper(2, timeout);
    idle_reaper::slot& q = reaper.attach(quiet[0]);
    const auto attached = clock::now();
    idle_reaper::slot& b = reaper.attach(busy[0]);
    std::atomic<bool> stop{false};
    std::thread mover([&] {  // what echo_session's moved() does, every 10 ms
      for (std::uint64_t n = 1; !stop.load(); ++n) {
        b.progress.store(n, std::memory_order_relaxed);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    });
    timeval tv{10, 0};  // bounded, should the reaper never act
    ::setsockopt(quiet[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char c;
    EXPECT_EQ(::recv(quiet[1], &c, 1, 0), 0);  // end of file: the reaper shut it down
    EXPECT_GE(clock::now() - attached, timeout);
    std::this_thread::sleep_for(3 * timeout);  // the busy one outlives several timeouts
    stop = true;
    mover.join();
    EXPECT_TRUE(idle_reaper::detach(q));
    EXPECT_FALSE(idle_reaper::detach(b));
    EXPECT_THROW(reaper.attach(-1), std::logic_error);  // room for two only
  }
  for (int fd : {quiet[0], quiet[1], busy[0], busy[1]}) ::close(fd);
}

TEST(EchoPayload, DiffersBetweenConnectionsRequestsAndBytes) {
  int same = 0;
  for (std::uint64_t k = 0; k < 64; ++k) {
    same += payload_byte(0, 0, k) == payload_byte(1, 0, k);
    same += payload_byte(0, 0, k) == payload_byte(0, 1, k);
  }
  EXPECT_LT(same, 8);  // a byte matches by chance 1 time in 256
  EXPECT_NE(payload_byte(2, 3, 0), payload_byte(2, 3, 1));
}

// The client runs in a process of its own: its errors come back through the shared report, and a
// client made but never started, or started against a server that never finishes, ends with its
// object instead of lingering.
TEST(EchoClientProcess, ReportsTheClientsErrorsBack) {
  const spec s{3, 4, 64};
  listener l(s.connections);
  client c(s, l.port());
  c.start();
  for (std::uint64_t i = 0; i < s.connections; ++i) {  // read the first request, close: no reply
    server_stats stats;
    const int fd = accept_counted(l.fd(), /*nonblocking=*/false, stats);
    char request[64];
    std::size_t got = 0;
    while (got < sizeof request) {
      std::size_t n = 0;
      ASSERT_EQ(receive_some(fd, request + got, sizeof request - got, n), io::done);
      got += n;
    }
    ::close(fd);  // nothing unread: an orderly close, not a reset
  }
  c.wait();
  EXPECT_NE(c.error().find("closed the connection before replying"), std::string::npos)
      << c.error();
  EXPECT_EQ(c.verified(), 0u);
  for (std::int64_t ns : c.latency_ns()) EXPECT_EQ(ns, -1);
}

TEST(EchoClientProcess, SaysWhyItDidNotStartAndLeavesNothingOpen) {
  const std::uint64_t before = open_descriptors();
  listener l(1);
  try {
    client c({0, 1, 64}, l.port());  // no connections: the client refuses its arguments
    ADD_FAILURE() << "the client started with no connections";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("did not start (exit status 2)"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(open_descriptors(), before + 1);  // the listener
}

namespace {
// The processes this one started (every thread's children).
std::vector<pid_t> child_processes() {
  std::vector<pid_t> pids;
  DIR* tasks = ::opendir("/proc/self/task");
  if (tasks == nullptr) return pids;
  while (const dirent* t = ::readdir(tasks)) {
    if (t->d_name[0] == '.') continue;
    std::ifstream in(std::string("/proc/self/task/") + t->d_name + "/children");
    for (pid_t p; in >> p;) pids.push_back(p);
  }
  ::closedir(tasks);
  return pids;
}
}  // namespace

// A client process that dies in the middle of a run: wait() says so, with the signal, and the
// failure callback runs (it is what stops a server still waiting in accept).
TEST(EchoClientProcess, ReportsAClientThatDiesMidRun) {
  listener l(4);  // nobody accepts: the client waits on its connections until it is killed
  client c({2, 2, 64}, l.port());
  const std::vector<pid_t> children = child_processes();
  ASSERT_EQ(children.size(), 1u);
  std::atomic<bool> told{false};
  c.start([&] { told = true; });
  ASSERT_EQ(::kill(children[0], SIGKILL), 0);
  c.wait();
  EXPECT_NE(c.error().find("ended without its report (signal Killed)"), std::string::npos)
      << c.error();
  EXPECT_TRUE(told.load());
  EXPECT_TRUE(c.ended());
}

TEST(EchoClientProcess, EndsWithItsObjectWhetherStartedOrNot) {
  const std::uint64_t before = open_descriptors();
  test_support::finishes_within(std::chrono::seconds(30), "echo client teardown", [&] {
    listener l(4);
    { client never_started({2, 2, 64}, l.port()); }
    {
      client abandoned({2, 2, 64}, l.port());
      abandoned.start();  // nobody accepts: it waits on its connections until it is ended
    }
  });
  EXPECT_EQ(open_descriptors(), before);
}
