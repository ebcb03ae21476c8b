// pipeline on coroutines: the producer unit reads an async generator (which sleeps on the
// scheduler's timers when paced) into the first channel; each stage and the consumer is a
// coroutine forked on the scheduler, joined by coro::channel; closing a channel tells the next
// unit that no more items come. The root forks the units and joins them.
#include <deque>

#include "bench/pipeline/spec.hpp"
#include "models/coro/channel.hpp"
#include "models/coro/generator.hpp"
#include "models/coro/scheduler.hpp"

namespace cmbench::pipeline {

namespace {

using channel = coro::channel<item>;

// asyncio's `async def items(): for i in range(M): await sleep(...); yield make(i)`.
coro::async_generator<item> items(const spec& s, run_log& log) {
  const clock::time_point start = clock::now();
  for (std::uint64_t i = 0; i < s.items; ++i) {
    if (s.delay_us != 0) co_await coro::sleep_until(due(start, s, i));
    co_yield log.produce(i);
  }
}

coro::task<> producer(const spec& s, run_log& log, channel& out, memory_probe& probe) {
  probe.unit_started();
  coro::async_generator<item> source = items(s, log);
  while (std::optional<item> it = co_await source.next())
    if (!co_await out.send(*it)) break;
  out.close();
  log.unit_finished();
  probe.unit_finished();
}

coro::task<> stage_unit(std::uint64_t k, channel& in, channel& out, run_log& log,
                        memory_probe& probe) {
  probe.unit_started();
  while (std::optional<item> it = co_await in.receive()) {
    it->value = stage(k, it->value);
    if (!co_await out.send(*it)) break;
  }
  out.close();
  log.unit_finished();
  probe.unit_finished();
}

coro::task<> consumer(channel& in, run_log& log, memory_probe& probe) {
  probe.unit_started();
  while (std::optional<item> it = co_await in.receive()) log.consume(*it);
  log.unit_finished();
  probe.unit_finished();
}

coro::task<> run_pipeline(const spec& s, run_log& log, memory_probe& probe) {
  // channels[k] feeds stage k; channels[stages] feeds the consumer.
  std::deque<channel> channels;
  for (std::uint64_t k = 0; k <= s.stages; ++k) channels.emplace_back(s.capacity);
  co_await coro::fork(consumer(channels[s.stages], log, probe));
  for (std::uint64_t k = 0; k < s.stages; ++k)
    co_await coro::fork(stage_unit(k, channels[k], channels[k + 1], log, probe));
  co_await coro::fork(producer(s, log, channels[0], probe));
  co_await coro::join();
}

class coro_model final : public model {
 public:
  explicit coro_model(const cell_env& env) : sched_(env.workers) {}
  void run(const spec& s, run_log& log, memory_probe& probe) override {
    sched_.run(run_pipeline(s, log, probe));
  }

 private:
  coro::scheduler sched_;
};

}  // namespace

std::unique_ptr<model> make_coro(const cell_env& env) {
  return std::make_unique<coro_model>(env);
}

}  // namespace cmbench::pipeline
