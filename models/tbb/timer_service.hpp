// timer_service: suspends oneTBB tasks until a deadline without blocking their worker threads.
#pragma once

#include <oneapi/tbb/task.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

namespace cmbench::tbb_model {

// oneTBB has no timers. A task that must wait suspends itself with tbb::task::suspend (its worker
// goes on with other tasks) and this service's thread resumes it at the deadline. The thread is
// the one extra thread the tbb model uses beyond its arena's workers; it only sleeps and resumes.
class timer_service {
 public:
  using clock = std::chrono::steady_clock;

  timer_service();
  ~timer_service();
  timer_service(const timer_service&) = delete;
  timer_service& operator=(const timer_service&) = delete;

  // Called from inside a task running in an arena.
  void sleep_until(clock::time_point deadline);

 private:
  struct entry {
    clock::time_point deadline;
    tbb::task::suspend_point point;
    bool operator>(const entry& o) const { return deadline > o.deadline; }
  };
  void loop();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::priority_queue<entry, std::vector<entry>, std::greater<>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace cmbench::tbb_model
