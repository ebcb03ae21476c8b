// pipeline on threads: a std::thread per unit (producer, each stage, consumer), joined by bounded
// blocking queues; closing a queue tells the next unit that no more items come.
#include <deque>
#include <system_error>
#include <thread>

#include "bench/pipeline/spec.hpp"
#include "models/threads/bounded_queue.hpp"
#include "models/threads/first_failure.hpp"

namespace cmbench::pipeline {

namespace {

using queue = threads_model::bounded_queue<item>;

void producer(const spec& s, run_log& log, queue& out, memory_probe& probe) {
  probe.unit_started();
  const clock::time_point start = clock::now();
  for (std::uint64_t i = 0; i < s.items; ++i) {
    if (s.delay_us != 0) std::this_thread::sleep_until(due(start, s, i));
    if (!out.push(log.produce(i))) break;  // closed: the run is being abandoned
  }
  out.close();
  log.unit_finished();
  probe.unit_finished();
}

void stage_unit(std::uint64_t k, queue& in, queue& out, run_log& log, memory_probe& probe) {
  probe.unit_started();
  while (std::optional<item> it = in.pop()) {
    it->value = stage(k, it->value);
    if (!out.push(*it)) break;
  }
  out.close();
  log.unit_finished();
  probe.unit_finished();
}

void consumer(queue& in, run_log& log, memory_probe& probe) {
  probe.unit_started();
  while (std::optional<item> it = in.pop()) log.consume(*it);
  log.unit_finished();
  probe.unit_finished();
}

class thread_per_unit final : public model {
 public:
  void run(const spec& s, run_log& log, memory_probe& probe) override {
    // queues[k] feeds stage k; queues[stages] feeds the consumer.
    std::deque<queue> queues;
    for (std::uint64_t k = 0; k <= s.stages; ++k) queues.emplace_back(s.capacity);
    std::vector<std::thread> threads;
    threads.reserve(s.stages + 2);
    threads_model::first_failure failure;
    try {
      threads.emplace_back(consumer, std::ref(queues[s.stages]), std::ref(log), std::ref(probe));
      for (std::uint64_t k = 0; k < s.stages; ++k)
        threads.emplace_back(stage_unit, k, std::ref(queues[k]), std::ref(queues[k + 1]),
                             std::ref(log), std::ref(probe));
      threads.emplace_back(producer, std::cref(s), std::ref(log), std::ref(queues[0]),
                           std::ref(probe));
    } catch (const std::system_error& e) {
      // The units already started would wait for items forever: closing every queue lets each
      // one drain what it has and return.
      failure.record(e);
      for (queue& q : queues) q.close();
    }
    for (std::thread& t : threads) t.join();
    failure.throw_if_any();
  }
};

}  // namespace

std::unique_ptr<model> make_threads(const cell_env&) {
  return std::make_unique<thread_per_unit>();
}

}  // namespace cmbench::pipeline
