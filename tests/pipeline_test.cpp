// The pipeline workload: every model gives the reference order, checksum and unit count; the
// check rejects wrong runs; the coroutine channel and async generator on their own; no model hangs.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/pipeline/spec.hpp"
#include "models/coro/channel.hpp"
#include "models/coro/generator.hpp"
#include "models/coro/scheduler.hpp"
#include "tests/finishes_within.hpp"
#include "tests/workload_models.hpp"

using namespace cmbench;
using namespace cmbench::pipeline;
using namespace std::chrono_literals;

namespace {

using test_support::smoke_env;
using maker = std::unique_ptr<model> (*)(const cell_env&);

maker make_for(const std::string& name) {
  return test_support::model_factory<maker>(name, make_sync, make_threads, make_tbb, make_fibers,
                                            make_coro);
}

bool has_workers(const std::string& name) {
  return name != "sync" && name != "threads";
}

std::string describe(const spec& s) {
  return "items:" + std::to_string(s.items) + "/stages:" + std::to_string(s.stages) +
         "/capacity:" + std::to_string(s.capacity) + "/delay_us:" + std::to_string(s.delay_us);
}

}  // namespace

class PipelineModels : public ::testing::TestWithParam<std::string> {};

TEST_P(PipelineModels, DeliversEveryItemInOrderWithTheReferenceChecksum) {
  const std::string name = GetParam();
  const std::vector<spec> specs = {
      {500, 3, 4, 0},  // channels fill up and drain many times
      {200, 0, 1, 0},  // producer straight to consumer through a one-item channel
      {64, 1, 1, 0},
      {20, 2, 2, 50},  // paced
  };
  const std::vector<unsigned> worker_counts =
      has_workers(name) ? std::vector<unsigned>{1, 2, 3} : std::vector<unsigned>{1};
  for (unsigned workers : worker_counts) {
    auto m = make_for(name)(smoke_env(workers));
    for (const spec& s : specs) {
      const std::uint64_t want = reference_checksum(s);
      for (int run = 0; run < 2; ++run) {  // the runtime is reused across iterations
        run_log log(s.items);
        memory_probe probe;
        m->run(s, log, probe);
        latency_histogram lat;
        const check_result c = check(s, want, log, lat);
        const std::string where = name + " workers=" + std::to_string(workers) + " " + describe(s);
        EXPECT_EQ(c.error, "") << where;
        EXPECT_EQ(log.count(), s.items) << where;
        EXPECT_FALSE(log.misordered()) << where;
        EXPECT_EQ(log.checksum(), want) << where;
        EXPECT_EQ(c.units, s.stages + 2) << where;
        EXPECT_EQ(c.items, s.items) << where;
        EXPECT_EQ(lat.count(), s.items) << where;
      }
    }
  }
}
INSTANTIATE_TEST_SUITE_P(All, PipelineModels,
                         ::testing::Values("sync", "threads", "tbb", "fibers", "coro"));

namespace {

// A log filled by hand as a run would fill it: the items listed, each through the stages.
void replay(const spec& s, run_log& log, const std::vector<std::uint64_t>& seqs,
            std::uint64_t units) {
  for (std::uint64_t i = 0; i < s.items; ++i) log.produce(i);
  for (std::uint64_t seq : seqs) {
    item it{seq, source_value(seq)};
    for (std::uint64_t k = 0; k < s.stages; ++k) it.value = stage(k, it.value);
    log.consume(it);
  }
  for (std::uint64_t u = 0; u < units; ++u) log.unit_finished();
}

}  // namespace

TEST(PipelineCheck, AcceptsTheReferenceRun) {
  const spec s{5, 2, 2, 0};
  run_log log(s.items);
  replay(s, log, {0, 1, 2, 3, 4}, 4);
  latency_histogram lat;
  const check_result c = check(s, reference_checksum(s), log, lat);
  EXPECT_EQ(c.error, "");
  EXPECT_EQ(c.units, 4u);
  EXPECT_EQ(c.items, 5u);
  EXPECT_EQ(lat.count(), 5u);
}

TEST(PipelineCheck, RejectsAWrongChecksumAReorderedOrMissingItemOrAMissingUnit) {
  const spec s{5, 2, 2, 0};
  const std::uint64_t want = reference_checksum(s);
  latency_histogram lat;

  run_log wrong_value(s.items);
  replay(s, wrong_value, {0, 1, 2, 3}, 4);
  wrong_value.consume({4, 12345});  // in order, but not the value the stages make
  EXPECT_NE(check(s, want, wrong_value, lat).error.find("checksum"), std::string::npos);

  run_log reordered(s.items);
  replay(s, reordered, {0, 2, 1, 3, 4}, 4);
  EXPECT_NE(check(s, want, reordered, lat).error.find("item 2 arrived in position 1"),
            std::string::npos);

  run_log missing(s.items);
  replay(s, missing, {0, 1, 3, 4}, 4);
  EXPECT_NE(check(s, want, missing, lat).error.find("consumed 4 items, expected 5"),
            std::string::npos);

  run_log short_of_units(s.items);
  replay(s, short_of_units, {0, 1, 2, 3, 4}, 3);
  EXPECT_NE(check(s, want, short_of_units, lat).error.find("3 units"), std::string::npos);

  EXPECT_EQ(lat.count(), 0u);  // latencies are recorded only for a verified run
}

TEST(PipelineCheck, TheChecksumDependsOnOrder) {
  EXPECT_NE(fold(fold(checksum_basis, 1), 2), fold(fold(checksum_basis, 2), 1));
  EXPECT_NE(reference_checksum({10, 2, 1, 0}), reference_checksum({10, 3, 1, 0}));
}

// ---------------------------------------------------------------------------------------------
// coro::channel

namespace {

coro::task<> send_counting(coro::channel<int>& ch, int n, std::atomic<int>& sent) {
  for (int i = 0; i < n; ++i) {
    const bool ok = co_await ch.send(i);
    EXPECT_TRUE(ok);
    sent.fetch_add(1);
  }
}

struct capacity_seen {
  int sent_while_full = -1;
  std::vector<int> received;
};

// One worker: fork runs the sender first, up to the send it has to wait on.
coro::task<capacity_seen> fill_then_drain(int capacity, int n) {
  coro::channel<int> ch(capacity);
  std::atomic<int> sent{0};
  co_await coro::fork(send_counting(ch, n, sent));
  capacity_seen seen;
  seen.sent_while_full = sent.load();
  for (int i = 0; i < n; ++i) seen.received.push_back(*co_await ch.receive());
  co_await coro::join();
  co_return seen;
}

}  // namespace

TEST(CoroChannel, ASenderWaitsWhileTheChannelIsFull) {
  coro::scheduler s(1);
  const capacity_seen seen = s.run(fill_then_drain(3, 8));
  EXPECT_EQ(seen.sent_while_full, 3);
  EXPECT_EQ(seen.received, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
}

namespace {

// Never more than capacity items in the channel: a send completes only once the receiver has
// taken all but `capacity` of the earlier ones (its counter may lag by the item it is holding).
coro::task<> send_bounded(coro::channel<int>& ch, int n, const std::atomic<int>& received,
                          std::atomic<int>& worst) {
  for (int i = 0; i < n; ++i) {
    co_await ch.send(i);
    const int ahead = i + 1 - received.load();
    int w = worst.load();
    while (ahead > w && !worst.compare_exchange_weak(w, ahead)) {
    }
  }
  ch.close();
}
coro::task<> receive_slowly(coro::channel<int>& ch, std::atomic<int>& received,
                            std::vector<int>& got) {
  while (std::optional<int> v = co_await ch.receive()) {
    got.push_back(*v);
    received.fetch_add(1);
  }
}
coro::task<> bounded_run(int capacity, int n, std::atomic<int>& worst, std::vector<int>& got) {
  coro::channel<int> ch(capacity);
  std::atomic<int> received{0};
  co_await coro::fork(receive_slowly(ch, received, got));
  co_await coro::fork(send_bounded(ch, n, received, worst));
  co_await coro::join();
}

}  // namespace

TEST(CoroChannel, HoldsAtMostItsCapacityAcrossWorkers) {
  for (unsigned workers : {2u, 3u}) {
    coro::scheduler s(workers);
    std::atomic<int> worst{0};
    std::vector<int> got;
    s.run(bounded_run(4, 20000, worst, got));
    EXPECT_LE(worst.load(), 4 + 1) << workers << " workers";
    ASSERT_EQ(got.size(), 20000u);
    for (int i = 0; i < 20000; ++i) ASSERT_EQ(got[i], i) << "FIFO order, " << workers << " workers";
  }
}

namespace {

struct close_seen {
  std::vector<std::optional<int>> drained;
  bool send_after_close = true;
  std::optional<int> waiting_receiver_got = 99;
  bool waiting_sender_sent = true;
};

coro::task<> receive_one(coro::channel<int>& ch, std::optional<int>& out) {
  out = co_await ch.receive();
}
coro::task<> send_one(coro::channel<int>& ch, int v, bool& sent) {
  sent = co_await ch.send(v);
}

coro::task<close_seen> close_cases() {
  close_seen seen;
  {  // buffered items are still delivered after close, then nothing
    coro::channel<int> ch(4);
    co_await ch.send(1);
    co_await ch.send(2);
    ch.close();
    for (int i = 0; i < 4; ++i) seen.drained.push_back(co_await ch.receive());
    seen.send_after_close = co_await ch.send(3);
  }
  {  // a receiver waiting on an empty channel is woken by close, with nothing
    coro::channel<int> ch(1);
    co_await coro::fork(receive_one(ch, seen.waiting_receiver_got));
    ch.close();
    co_await coro::join();
  }
  {  // a sender waiting on a full channel is woken by close, unsent
    coro::channel<int> ch(1);
    co_await ch.send(1);
    co_await coro::fork(send_one(ch, 2, seen.waiting_sender_sent));
    ch.close();
    co_await coro::join();
  }
  co_return seen;
}

}  // namespace

TEST(CoroChannel, ReceiveAfterCloseDrainsThenGivesNothing) {
  for (unsigned workers : {1u, 2u}) {
    coro::scheduler s(workers);
    const close_seen seen = s.run(close_cases());
    EXPECT_EQ(seen.drained, (std::vector<std::optional<int>>{1, 2, std::nullopt, std::nullopt}));
    EXPECT_FALSE(seen.send_after_close);
    EXPECT_EQ(seen.waiting_receiver_got, std::nullopt);
    EXPECT_FALSE(seen.waiting_sender_sent);
  }
}

namespace {

coro::task<> sender(coro::channel<std::uint64_t>& ch, std::uint64_t first, std::uint64_t n,
                    std::atomic<int>& senders_left) {
  for (std::uint64_t v = first; v < first + n; ++v) {
    const bool ok = co_await ch.send(v);
    EXPECT_TRUE(ok);
  }
  if (senders_left.fetch_sub(1) == 1) ch.close();  // the last sender closes
}
coro::task<> receiver(coro::channel<std::uint64_t>& ch, std::vector<std::uint64_t>& got) {
  while (std::optional<std::uint64_t> v = co_await ch.receive()) got.push_back(*v);
}
coro::task<> many_to_many(int senders, int receivers, std::uint64_t per_sender,
                          std::size_t capacity, std::vector<std::vector<std::uint64_t>>& got) {
  coro::channel<std::uint64_t> ch(capacity);
  std::atomic<int> senders_left{senders};
  got.assign(receivers, std::vector<std::uint64_t>{});
  for (int r = 0; r < receivers; ++r) co_await coro::fork(receiver(ch, got[r]));
  for (int k = 0; k < senders; ++k)
    co_await coro::fork(sender(ch, k * per_sender, per_sender, senders_left));
  co_await coro::join();
}

}  // namespace

TEST(CoroChannel, ManySendersAndReceiversDeliverEveryValueExactlyOnce) {
  for (unsigned workers : {2u, 3u}) {
    for (std::size_t capacity : {1u, 3u, 64u}) {
      coro::scheduler s(workers);
      std::vector<std::vector<std::uint64_t>> got;
      const int senders = 4, receivers = 3;
      const std::uint64_t per_sender = 5000;
      s.run(many_to_many(senders, receivers, per_sender, capacity, got));
      std::vector<std::uint64_t> all;
      for (const auto& g : got) {
        // Each sender's values reach any one receiver in the order they were sent.
        std::vector<std::uint64_t> last(senders, 0);
        std::vector<bool> any(senders, false);
        for (std::uint64_t v : g) {
          const std::uint64_t k = v / per_sender;
          EXPECT_TRUE(!any[k] || v > last[k]);
          any[k] = true;
          last[k] = v;
        }
        all.insert(all.end(), g.begin(), g.end());
      }
      std::sort(all.begin(), all.end());
      ASSERT_EQ(all.size(), senders * per_sender) << workers << " workers, capacity " << capacity;
      for (std::uint64_t i = 0; i < all.size(); ++i)
        ASSERT_EQ(all[i], i) << workers << " workers, capacity " << capacity;
    }
  }
}

TEST(CoroChannel, RejectsZeroCapacity) {
  EXPECT_THROW(coro::channel<int>(0), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// coro::async_generator

namespace {

coro::async_generator<int> count_to(int n, std::chrono::microseconds pause) {
  for (int i = 0; i < n; ++i) {
    if (pause.count() != 0) co_await coro::sleep_for(pause);
    co_yield i;
  }
}

coro::task<std::vector<int>> collect(int n, std::chrono::microseconds pause) {
  std::vector<int> out;
  auto gen = count_to(n, pause);
  while (std::optional<int> v = co_await gen.next()) out.push_back(*v);
  const std::optional<int> after_end = co_await gen.next();
  EXPECT_EQ(after_end, std::nullopt);  // stays finished
  co_return out;
}

coro::async_generator<int> throws_after(int n) {
  for (int i = 0; i < n; ++i) co_yield i;
  throw std::runtime_error("generator failed");
}

coro::task<int> read_until_throw() {
  auto gen = throws_after(2);
  int seen = 0;
  try {
    while (co_await gen.next()) ++seen;
  } catch (const std::runtime_error&) {
    co_return seen;
  }
  co_return -1;
}

coro::task<int> abandon_early() {
  auto gen = count_to(100, 0us);
  const std::optional<int> first = co_await gen.next();
  co_return first.value_or(-1);  // the generator is destroyed at its first co_yield
}

}  // namespace

TEST(CoroGenerator, YieldsInOrderAndEnds) {
  coro::scheduler s(1);
  EXPECT_EQ(s.run(collect(5, 0us)), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(s.run(collect(0, 0us)), std::vector<int>{});
}

TEST(CoroGenerator, SleepsBetweenYieldsOnAnyWorker) {
  for (unsigned workers : {1u, 2u, 3u}) {
    coro::scheduler s(workers);
    const auto start = coro::clock::now();
    EXPECT_EQ(s.run(collect(20, 200us)).size(), 20u) << workers << " workers";
    EXPECT_GE(coro::clock::now() - start, 20 * 200us);  // each pause is a real sleep
  }
}

TEST(CoroGenerator, RethrowsTheBodysExceptionAtNext) {
  coro::scheduler s(2);
  EXPECT_EQ(s.run(read_until_throw()), 2);
}

TEST(CoroGenerator, CanBeDestroyedAtAYield) {
  coro::scheduler s(1);
  EXPECT_EQ(s.run(abandon_early()), 0);
}

// ---------------------------------------------------------------------------------------------
// No model hangs: each runs the smoke profile's cells under finishes_within; a run that does
// not finish in time fails the test, naming the cell, and ends the process.

TEST(PipelineCells, FinishInEveryModelUnderAShortTimeout) {
  constexpr std::chrono::seconds timeout = 20s;
  for (unsigned workers : {1u, 2u}) {
    const cell_env env = smoke_env(workers);
    for (const cell& c : cells(env)) {
      ASSERT_FALSE(c.skip_reason) << c.name() << ": " << *c.skip_reason;
      spec s{};
      for (const auto& [key, value] : c.params) {
        if (key == "items") s.items = value.number();
        if (key == "stages") s.stages = value.number();
        if (key == "capacity") s.capacity = value.number();
        if (key == "delay_us") s.delay_us = value.number();
      }
      const std::string name = c.name() + " (workers=" + std::to_string(workers) + ")";
      std::string error;
      test_support::finishes_within(timeout, "pipeline cell " + name, [&] {
        auto m = make_for(c.model)(env);
        run_log log(s.items);
        memory_probe probe;
        m->run(s, log, probe);
        latency_histogram lat;
        error = check(s, reference_checksum(s), log, lat).error;
      });
      EXPECT_EQ(error, "") << name;
    }
  }
}

TEST(PipelineCells, AreNamedWithTheirParametersInOrder) {
  std::vector<std::string> names;
  for (const cell& c : cells(smoke_env(2))) names.push_back(c.name());
  EXPECT_EQ(names.size(), 10u);
  EXPECT_NE(std::find(names.begin(), names.end(),
                      "pipeline/coro/items:1000/stages:3/capacity:15/delay_us:0"),
            names.end());
  EXPECT_NE(std::find(names.begin(), names.end(),
                      "pipeline/sync/items:20/stages:3/capacity:15/delay_us:100"),
            names.end());
}

TEST(PipelineCells, APacedCellOverTheBudgetIsSkippedWithAReason) {
  cell_env env = smoke_env(2);
  env.prof.pipeline_paced_items = 100000;  // 10 s of schedule at 100 us
  for (const cell& c : cells(env)) {
    const bool paced = c.params.back().second.number() != 0;
    EXPECT_EQ(c.skip_reason.has_value(), paced) << c.name();
    if (paced) {
      EXPECT_NE(c.skip_reason->find("budget"), std::string::npos) << *c.skip_reason;
    }
  }
}
