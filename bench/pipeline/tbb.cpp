// pipeline on oneTBB: parallel_pipeline, the library's own construct for this shape. A
// serial_in_order input filter is the producer, a filter per stage, a serial_in_order output
// filter the consumer. The stages are pure functions, so they run in `parallel` mode, oneTBB at
// its best: several items may be in one stage at once, and the output filter restores the order.
#include <oneapi/tbb/parallel_pipeline.h>

#include <vector>

#include "bench/pipeline/spec.hpp"
#include "models/tbb/arena.hpp"
#include "models/tbb/timer_service.hpp"

namespace cmbench::pipeline {

namespace {

namespace tbb = oneapi::tbb;

class tbb_pipeline final : public model {
 public:
  explicit tbb_pipeline(const cell_env& env) : arena_(env.workers) {}

  void run(const spec& s, run_log& log, memory_probe& probe) override {
    // The filters are the units; they exist for the whole parallel_pipeline call, so that is
    // when they start and finish.
    const std::uint64_t units = s.stages + 2;
    for (std::uint64_t u = 0; u < units; ++u) probe.unit_started();
    // The channel models hold at most C items in each of their S + 1 channels; this many
    // tokens lets oneTBB have the same number of items in flight.
    const std::uint64_t ntokens = s.capacity * (s.stages + 1);
    // The filters pass a pointer into this ring rather than the item: a filter's output larger
    // than a pointer travels in a block from oneTBB's allocator (token_helper in
    // _pipeline_filters.h), one per filter per item. Reusing slot k % ntokens for item k is safe
    // because parallel_pipeline has at most ntokens items in flight and, with serial_in_order
    // first and last filters, retires them in the order they were made (oneTBB Developer Guide,
    // "Using Circular Buffers"): when the producer wraps round to a slot, the consumer is done
    // with the item that held it.
    std::vector<item> ring(ntokens);
    arena_.slots.execute([&] {
      const clock::time_point start = clock::now();
      std::uint64_t next = 0;
      tbb::filter<void, item*> chain = tbb::make_filter<void, item*>(
          tbb::filter_mode::serial_in_order, [&](tbb::flow_control& fc) -> item* {
            if (next == s.items) {
              fc.stop();
              return nullptr;
            }
            // A paced producer suspends its task (the worker runs other filters meanwhile), as
            // the tbb model of the wait workload does.
            if (s.delay_us != 0) timers_.sleep_until(due(start, s, next));
            item& slot = ring[next % ntokens];
            slot = log.produce(next++);
            return &slot;
          });
      for (std::uint64_t k = 0; k < s.stages; ++k)
        chain = chain & tbb::make_filter<item*, item*>(tbb::filter_mode::parallel, [k](item* it) {
                  it->value = stage(k, it->value);
                  return it;
                });
      const tbb::filter<void, void> whole =
          chain & tbb::make_filter<item*, void>(tbb::filter_mode::serial_in_order,
                                                [&log](item* it) { log.consume(*it); });
      tbb::parallel_pipeline(ntokens, whole);
    });
    for (std::uint64_t u = 0; u < units; ++u) {
      log.unit_finished();
      probe.unit_finished();
    }
  }

 private:
  tbb_model::arena arena_;
  tbb_model::timer_service timers_;
};

}  // namespace

std::unique_ptr<model> make_tbb(const cell_env& env) {
  return std::make_unique<tbb_pipeline>(env);
}

}  // namespace cmbench::pipeline
