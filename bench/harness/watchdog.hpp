// watchdog: ends the process with a clear message when a cell runs past its time limit.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace cmbench {

// A hung cell cannot be cancelled from outside (its threads, fibers or tasks are blocked inside
// the model), so the watchdog reports it, removes the partial output file and exits with 2.
class watchdog {
 public:
  explicit watchdog(std::string partial_output);
  ~watchdog();
  void arm(const std::string& cell, double seconds);
  void disarm();

 private:
  void loop();
  std::mutex mutex_;
  std::condition_variable cv_;
  std::string partial_output_;
  std::string cell_;
  double seconds_ = 0;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace cmbench
