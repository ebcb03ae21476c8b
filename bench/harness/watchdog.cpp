#include "bench/harness/watchdog.hpp"

#include <cstdio>
#include <cstdlib>

namespace cmbench {

watchdog::watchdog(std::string partial_output)
    : partial_output_(std::move(partial_output)), thread_([this] { loop(); }) {}

watchdog::~watchdog() {
  {
    std::lock_guard lk(mutex_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void watchdog::arm(const std::string& cell, double seconds) {
  {
    std::lock_guard lk(mutex_);
    cell_ = cell;
    seconds_ = seconds;
    deadline_ = std::chrono::steady_clock::now() +
                std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(seconds));
  }
  cv_.notify_one();
}

void watchdog::disarm() {
  std::lock_guard lk(mutex_);
  deadline_ = std::chrono::steady_clock::time_point::max();
}

void watchdog::loop() {
  std::unique_lock lk(mutex_);
  while (!stop_) {
    if (deadline_ == std::chrono::steady_clock::time_point::max()) {
      cv_.wait(lk);
    } else if (cv_.wait_until(lk, deadline_) == std::cv_status::timeout &&
               std::chrono::steady_clock::now() >= deadline_) {
      std::fprintf(stderr, "cmbench: cell %s did not finish within %g s: hung; stopping\n",
                   cell_.c_str(), seconds_);
      if (!partial_output_.empty()) std::remove(partial_output_.c_str());
      std::fflush(nullptr);
      std::_Exit(2);
    }
  }
}

}  // namespace cmbench
