#include "models/tbb/timer_service.hpp"

namespace cmbench::tbb_model {

timer_service::timer_service() : thread_([this] { loop(); }) {}

timer_service::~timer_service() {
  {
    std::lock_guard lk(mutex_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void timer_service::sleep_until(clock::time_point deadline) {
  // oneTBB allows resume() before suspend() has finished switching away, so registering the
  // suspend point from inside the callback is safe even for a deadline already passed.
  tbb::task::suspend([&](tbb::task::suspend_point point) {
    bool earliest;
    {
      std::lock_guard lk(mutex_);
      earliest = queue_.empty() || deadline < queue_.top().deadline;
      queue_.push({deadline, point});
    }
    if (earliest) cv_.notify_one();
  });
}

void timer_service::loop() {
  std::unique_lock lk(mutex_);
  while (!stop_) {
    if (queue_.empty()) {
      cv_.wait(lk);
      continue;
    }
    const auto next = queue_.top().deadline;
    if (clock::now() < next) {
      cv_.wait_until(lk, next);
      continue;
    }
    while (!queue_.empty() && queue_.top().deadline <= clock::now()) {
      tbb::task::resume(queue_.top().point);
      queue_.pop();
    }
  }
}

}  // namespace cmbench::tbb_model
